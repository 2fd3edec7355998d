/**
 * Receiving transactions: `PUT /_matrix/federation/v1/send/{txnId}` (spec v1.16, Server-Server
 * API "Transactions", https://spec.matrix.org/v1.16/server-server-api/#transactions).
 *
 * Each PDU goes through "Checks performed on receipt of a PDU": the format (the room version's
 * strict canonical JSON on the PDU's raw text, the event format, sizes), the signatures (a PDU
 * failing them is dropped), the room's server ACL against the transaction's origin, then the
 * Room object's checks (content hash → redacted, auth events and state before → rejected,
 * current state → soft-failed; durable-objects/room/receive.ts). A PDU whose prev events are
 * unknown is received across the gap (missing-events.ts): "Retrieving missing events" from the
 * origin, then the `/state_ids` fallback; if neither closes it, it is answered with an error
 * and nothing is stored. Events fetched that way get the same checks.
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
import { verifyEventSignatures, verifyManyEventSignatures, type SignatureCheck } from '../../shared/server-keys';
import type { HomeserverBindings, HomeserverEnv } from '../env';
import { requireServerAuth } from './auth';
import { receiveEdus } from './edus';
import { receiveAcrossGap } from './missing-events';

/** Answers kept for retried transactions (per isolate). */
const RECENT_TRANSACTIONS = 1_000;

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
  const checked = await Promise.all(body.pdus.map((pdu, i) => receiver.check(pdu, raw[i])));
  // Every PDU that passed is handed to its room at once, in the transaction's order: a Room
  // object takes one caller's calls in the order made and runs the PDUs queued meanwhile back
  // to back, so a transaction costs a few round trips and commits rather than one per PDU.
  const first = checked.map((c) => (c && 'ready' in c ? c.ctx.api.ingestPdu(c.pdu) : undefined));
  const pdus: PduResults = {};
  // Then in order, since a PDU may build on an earlier one of the same transaction: one whose
  // prev events were missing is offered again (an earlier PDU may have been received across a
  // gap meanwhile), then received across the gap itself.
  for (const [i, c] of checked.entries()) {
    if (!c) continue;
    if (!('ready' in c)) {
      pdus[c.event_id] = { error: c.error };
      continue;
    }
    let r = await first[i]!;
    if (r.status === 'missing' && i > 0) r = await c.ctx.api.ingestPdu(c.pdu);
    if (r.status === 'missing') r = await receiveAcrossGap(env, config, origin, c.ctx, c.pdu, r);
    pdus[c.event_id] = errorOf(r);
  }
  await receiveEdus(env, origin, edus);
  return { pdus };
}

interface RoomContext {
  roomId: string;
  api: RoomApi;
  rules: RoomVersionRules;
  aclAllows: boolean;
}

/** A PDU's fate before its room: refused (with the ID to answer under), or ready for the room. */
type Checked = { event_id: string; error: string } | { event_id: string; ready: true; ctx: RoomContext; pdu: JsonObject };

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
        return rules && access ? { roomId, api, rules, aclAllows: access.acl_allows } : undefined;
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

  /**
   * The checks on receipt of one PDU up to its room's: format, size, ACL, signatures.
   * Undefined when it has no event ID to answer under.
   */
  async check(value: JsonValue | undefined, raw: string | undefined): Promise<Checked | undefined> {
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
    return { event_id: eventId, ready: true, ctx, pdu: value };
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
