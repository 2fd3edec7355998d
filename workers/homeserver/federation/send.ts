/**
 * Receiving transactions: `PUT /_matrix/federation/v1/send/{txnId}` (spec v1.16, Server-Server
 * API "Transactions", https://spec.matrix.org/v1.16/server-server-api/#transactions).
 *
 * Each PDU goes through "Checks performed on receipt of a PDU": the format (the room version's
 * strict canonical JSON on the PDU's raw text, the event format, sizes), the signatures (a PDU
 * failing them is dropped), the room's server ACL against the transaction's origin, then the
 * Room object's checks (content hash → redacted, auth events and state before → rejected,
 * current state → soft-failed; durable-objects/room/receive.ts). A PDU whose prev events are
 * unknown triggers "Retrieving missing events" from the origin, then is tried again; if the gap
 * is still open it is answered with an error and nothing is stored (the `/state_ids` fallback
 * needs state resolution from outliers, which the Room object does not offer yet). Events
 * fetched that way get the same checks, except strict canonical JSON on the raw text (the
 * federation client hands back parsed JSON).
 *
 * The answer maps each processed event ID to `{}` (accepted, soft-failed or already known) or
 * `{error}` (dropped or rejected). A PDU whose event ID cannot be computed (malformed, or of a
 * room this server is not in, keyed by its ID under the default room version as a best guess)
 * is left out or answered under that ID.
 *
 * Retried transactions: the spec has the sender retry a transaction with the same ID until it
 * gets an answer. Processing is idempotent anyway (a known PDU is `duplicate`; EDUs are
 * updates), so an in-isolate cache of recent answers per (origin, txnId) is enough: a retry
 * that reaches this isolate gets the same answer without reprocessing, and one that reaches
 * another isolate is processed again harmlessly. A transaction still in progress is awaited,
 * not started twice.
 */
import { Hono } from 'hono';
import { isJsonObject, parseJson, validateStrictJsonText, type JsonObject, type JsonValue } from '../../../core/canonical-json';
import { computeEventId } from '../../../core/events/hashes';
import { pduSizeProblem } from '../../../core/events/limits';
import { parsePdu } from '../../../core/events/pdu';
import { MAX_TRANSACTION_EDUS, MAX_TRANSACTION_PDUS, rawArrayMember } from '../../../core/federation/transaction';
import { isValidRoomId } from '../../../core/ids';
import { DEFAULT_ROOM_VERSION, getRoomVersionRules, type RoomVersionRules } from '../../../core/room-versions';
import { remoteServerApi } from '../../../durable-objects/remote-server/api';
import { roomApi, type IngestResult, type RoomApi } from '../../../durable-objects/room/api';
import type { HomeserverConfig } from '../../shared/config';
import { MatrixError } from '../../shared/errors';
import { federationRequest, federationSender } from '../../shared/federation-client';
import { verifyEventSignatures, verifyManyEventSignatures, type SignatureCheck } from '../../shared/server-keys';
import type { HomeserverBindings, HomeserverEnv } from '../env';
import { requireServerAuth } from './auth';
import { receiveEdus } from './edus';

/** Answers kept for retried transactions (per isolate). */
const RECENT_TRANSACTIONS = 1_000;
/** Spec "Retrieving missing events": how many prev events to ask the origin for at once. */
const MISSING_EVENTS_LIMIT = 10;

type PduResults = Record<string, { error?: string }>;
const recent = new Map<string, Promise<{ pdus: PduResults }>>();

export const federationSend = new Hono<HomeserverEnv>().put('/v1/send/:txnId', requireServerAuth(), async (c) => {
  const origin = c.var.origin!;
  // Spec "Transactions": having heard from the origin, retry what we owe it now rather than
  // after its backoff (it is reachable again, e.g. back from a restart).
  const wake = remoteServerApi(c.env.REMOTE_SERVER, origin)
    .performWake()
    .catch((e: unknown) => console.warn(`federation/send: waking the queue for ${origin} failed: ${(e as Error).message}`));
  const key = JSON.stringify([origin, c.req.param('txnId')]);
  let answer = recent.get(key);
  if (!answer) {
    answer = receiveTransaction(c.env, c.var.config, origin, await c.req.text());
    recent.set(key, answer);
    while (recent.size > RECENT_TRANSACTIONS) recent.delete(recent.keys().next().value!);
    // A refused transaction (400) was not processed: its retry must be looked at again.
    answer.catch(() => recent.delete(key));
  }
  const result = await answer;
  await wake;
  return c.json(result);
});

const badJson = (message: string) => new MatrixError(400, 'M_BAD_JSON', message);

async function receiveTransaction(env: HomeserverBindings, config: HomeserverConfig, origin: string, text: string): Promise<{ pdus: PduResults }> {
  let body: JsonValue;
  try {
    body = parseJson(text);
  } catch {
    throw new MatrixError(400, 'M_NOT_JSON', 'Content not JSON.');
  }
  if (!isJsonObject(body)) throw badJson('The transaction must be a JSON object.');
  if (body.origin !== origin) throw new MatrixError(403, 'M_FORBIDDEN', `The transaction's origin is not the authenticated server ${origin}.`);
  if (!Array.isArray(body.pdus)) throw badJson('"pdus" must be an array.');
  const edus = body.edus ?? [];
  if (!Array.isArray(edus)) throw badJson('"edus" must be an array.');
  if (body.pdus.length > MAX_TRANSACTION_PDUS) throw badJson(`A transaction carries at most ${MAX_TRANSACTION_PDUS} PDUs.`);
  if (edus.length > MAX_TRANSACTION_EDUS) throw badJson(`A transaction carries at most ${MAX_TRANSACTION_EDUS} EDUs.`);

  const raw = rawArrayMember(text, 'pdus') ?? [];
  const receiver = new PduReceiver(env, config, origin);
  await receiver.checkSignaturesAhead(body.pdus);
  const pdus: PduResults = {};
  // In order: a PDU may build on an earlier one of the same transaction.
  for (const [i, pdu] of body.pdus.entries()) {
    const r = await receiver.receive(pdu, raw[i]);
    if (r) pdus[r.event_id] = r.error === undefined ? {} : { error: r.error };
  }
  await receiveEdus(env, origin, edus);
  return { pdus };
}

interface RoomContext {
  api: RoomApi;
  rules: RoomVersionRules;
  aclAllows: boolean;
}

/** One transaction's PDUs: the room lookups are shared between its PDUs. */
class PduReceiver {
  private readonly rooms = new Map<string, Promise<RoomContext | undefined>>();
  /** The PDUs' signature checks, started together by checkSignaturesAhead. */
  private readonly signatures = new Map<JsonObject, Promise<SignatureCheck>>();

  constructor(
    private readonly env: HomeserverBindings,
    private readonly config: HomeserverConfig,
    private readonly origin: string,
  ) {}

  private room(roomId: string): Promise<RoomContext | undefined> {
    let ctx = this.rooms.get(roomId);
    if (!ctx) {
      const api = roomApi(this.env.ROOM, roomId);
      ctx = Promise.all([api.getRoomInfo(), api.queryServerAccess(this.origin)]).then(([info, access]) => {
        const rules = info && getRoomVersionRules(info.room_version);
        return rules && access ? { api, rules, aclAllows: access.acl_allows } : undefined;
      });
      this.rooms.set(roomId, ctx);
    }
    return ctx;
  }

  /**
   * Start the signature checks of all the transaction's PDUs at once: one key lookup per server
   * and key, the signatures verified in parallel. `receive` still consults each in its place
   * among the checks.
   */
  async checkSignaturesAhead(values: readonly JsonValue[]): Promise<void> {
    const byVersion = new Map<string, { rules: RoomVersionRules; pdus: JsonObject[] }>();
    for (const value of values) {
      if (!isJsonObject(value) || !isValidRoomId(value.room_id)) continue;
      const ctx = await this.room(value.room_id);
      if (!ctx) continue;
      const group = byVersion.get(ctx.rules.room_version) ?? { rules: ctx.rules, pdus: [] };
      group.pdus.push(value);
      byVersion.set(ctx.rules.room_version, group);
    }
    for (const { rules, pdus } of byVersion.values()) {
      const checks = verifyManyEventSignatures(this.env, pdus, rules);
      pdus.forEach((pdu, i) => this.signatures.set(pdu, checks.then((c) => c[i]!)));
    }
  }

  /** The checks on receipt of one PDU; undefined when it has no event ID to answer under. */
  async receive(value: JsonValue | undefined, raw: string | undefined): Promise<{ event_id: string; error?: string } | undefined> {
    if (!isJsonObject(value)) return undefined;
    const roomId = value.room_id;
    const ctx = isValidRoomId(roomId) ? await this.room(roomId) : undefined;
    if (!ctx) {
      // A v12 create event has no room ID, and starts a room: rooms are joined, never created, over /send.
      const guess = eventIdUnder(value, getRoomVersionRules(DEFAULT_ROOM_VERSION)!);
      return guess === undefined ? undefined : { event_id: guess, error: typeof roomId === 'string' ? `Unknown room ${roomId}.` : 'A PDU without a room is not accepted here.' };
    }
    const { rules } = ctx;
    if (rules.strict_canonical_json && raw !== undefined) {
      const strict = validateStrictJsonText(raw);
      if (!strict.ok) {
        const id = eventIdUnder(value, rules);
        return id === undefined ? undefined : { event_id: id, error: `Not canonical JSON: ${strict.reason}` };
      }
    }
    let eventId: string;
    try {
      eventId = computeEventId(parsePdu(value, rules), rules);
    } catch (e) {
      console.warn(`federation/send: a malformed PDU from ${this.origin} was dropped: ${(e as Error).message}`);
      return undefined;
    }
    const tooLarge = pduSizeProblem(value);
    if (tooLarge) return { event_id: eventId, error: tooLarge };
    if (!ctx.aclAllows) return { event_id: eventId, error: `${this.origin} is denied by the room's server ACL.` };
    const signed = await (this.signatures.get(value) ?? verifyEventSignatures(this.env, value, rules));
    if (!signed.ok) return { event_id: eventId, error: `Bad signature: ${signed.reason}` };

    let r = await ctx.api.ingestPdu(value);
    if (r.status === 'missing' && (await this.fetchMissing(ctx, roomId as string, eventId))) r = await ctx.api.ingestPdu(value);
    return { event_id: eventId, ...errorOf(r) };
  }

  /**
   * Spec "Retrieving missing events": ask the origin for the events between our forward
   * extremities and the PDU, check each like a received PDU, and store them oldest first.
   * Returns whether anything was stored.
   */
  private async fetchMissing(ctx: RoomContext, roomId: string, eventId: string): Promise<boolean> {
    const info = await ctx.api.getRoomInfo();
    if (!info) return false;
    let events: JsonValue[];
    try {
      const res = await federationRequest(federationSender(this.config), this.origin, 'POST', `/_matrix/federation/v1/get_missing_events/${encodeURIComponent(roomId)}`, {
        earliest_events: info.forward_extremities,
        latest_events: [eventId],
        limit: MISSING_EVENTS_LIMIT,
        min_depth: 0,
      });
      events = Array.isArray(res.events) ? res.events : [];
    } catch (e) {
      console.warn(`federation/send: get_missing_events from ${this.origin} failed: ${(e as Error).message}`);
      return false;
    }
    const candidates = events.filter(isJsonObject).filter((e) => e.room_id === roomId && typeof e.depth === 'number');
    candidates.sort((a, b) => (a.depth as number) - (b.depth as number));
    let stored = false;
    for (const pdu of candidates.slice(0, MISSING_EVENTS_LIMIT)) {
      if (pduSizeProblem(pdu)) continue;
      if (!(await verifyEventSignatures(this.env, pdu, ctx.rules)).ok) continue;
      const r = await ctx.api.ingestPdu(pdu);
      if (r.status === 'accepted' || r.status === 'soft_failed' || r.status === 'rejected') stored = true;
    }
    return stored;
  }
}

/** The event ID of `pdu` under `rules`, if it can be computed. */
function eventIdUnder(pdu: JsonObject, rules: RoomVersionRules): string | undefined {
  if (typeof pdu.event_id === 'string') return pdu.event_id;
  try {
    return computeEventId(pdu, rules);
  } catch {
    return undefined;
  }
}

/** Spec: `{}` for a PDU processed (accepted, soft-failed, already known), `{error}` otherwise. */
function errorOf(r: IngestResult): { error?: string } {
  switch (r.status) {
    case 'accepted':
    case 'soft_failed':
    case 'duplicate':
      return {};
    case 'rejected':
      return { error: `Rejected: ${r.reason ?? 'fails the auth rules'}` };
    case 'missing':
      return { error: `Missing prev or auth events: ${r.missing.join(', ')}` };
    default:
      return { error: r.reason };
  }
}
