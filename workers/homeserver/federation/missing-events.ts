/**
 * A received PDU whose prev events are unknown here (spec v1.16, Server-Server API "Retrieving
 * events", https://spec.matrix.org/v1.16/server-server-api/#retrieving-events, and "Checks
 * performed on receipt of a PDU"):
 *
 * 1. "Retrieving missing events": `POST /get_missing_events` at the origin for the events
 *    between the room's forward extremities and the PDU; those that pass the checks are given
 *    to the room oldest first, then the PDU is tried again.
 * 2. If the gap is still open, the `/state_ids` fallback (Synapse's
 *    `_get_state_ids_after_missing_prev_event`): for each prev event still without state here,
 *    `GET /state_ids/{roomId}?event_id=` at the origin gives the state before it; the events
 *    the room lacks among that state, its auth chain, the prev events and the PDU's auth events
 *    are fetched (`GET /event/{eventId}` each, or `GET /state/{roomId}` when there are many),
 *    and the PDU is received on that state (durable-objects/room/missing-state.ts): checked
 *    against it, and part of the state resolution once accepted. A PDU whose auth events are
 *    missing while its prev events are here is not filled this way and stays unprocessed.
 *
 * Every fetched event gets the checks a PDU of `/send` gets before the room's own (the room
 * version's strict canonical JSON on its raw text, the event format, sizes, the signatures —
 * one failing them is dropped); an event fetched by ID must have that ID. The room then checks
 * content hashes (redacting) and the auth rules, as for any received PDU.
 */
import { isJsonObject, validateStrictJsonText, type JsonObject, type JsonValue } from '../../../core/canonical-json';
import { computeEventId } from '../../../core/events/hashes';
import { pduSizeProblem } from '../../../core/events/limits';
import { parsePdu } from '../../../core/events/pdu';
import { rawArrayMember } from '../../../core/federation/transaction';
import type { RoomVersionRules } from '../../../core/room-versions';
import type { IngestResult, RoomApi } from '../../../durable-objects/room/api';
import { stringList } from '../../../durable-objects/room/checks';
import type { HomeserverConfig } from '../../shared/config';
import { federationRequestWithText, federationSender, type FederationSender } from '../../shared/federation-client';
import { verifyManyEventSignatures } from '../../shared/server-keys';
import type { HomeserverBindings } from '../env';

/** Spec "Retrieving missing events": how many prev events to ask the origin for at once. */
const MISSING_EVENTS_LIMIT = 10;
/** Up to this many unknown events are fetched one by one; more come from `/state` at once. */
const EVENTS_FETCHED_ONE_BY_ONE = 50;
/** A state with more unknown events than this is not fetched (the PDU stays unprocessed). */
const MAX_EVENTS_FETCHED = 10_000;
/** `/event` requests at a time (a Worker keeps six connections open at once). */
const FETCH_CONCURRENCY = 6;

/** The room a PDU is for, as the receiver of a transaction knows it. */
export interface GapRoom {
  roomId: string;
  api: RoomApi;
  rules: RoomVersionRules;
}

/** An event fetched from another server that passed the checks before the room's. */
interface Fetched {
  event_id: string;
  pdu: JsonObject;
}

/**
 * Receive `pdu`, which the room answered `missing` (`first`), across the gap: missing events
 * first, then the `/state_ids` fallback. Returns the room's last answer.
 */
export async function receiveAcrossGap(
  env: HomeserverBindings, config: HomeserverConfig, origin: string, room: GapRoom, pdu: JsonObject, first: Extract<IngestResult, { status: 'missing' }>,
): Promise<IngestResult> {
  const gap = new GapFiller(env, federationSender(config), origin, room);
  let r: IngestResult = first;
  if (await gap.fetchMissingEvents(first.event_id)) r = await room.api.ingestPdu(pdu);
  if (r.status !== 'missing') return r;
  return (await gap.fillFromStateIds(pdu, r.missing)) ?? r;
}

class GapFiller {
  constructor(
    private readonly env: HomeserverBindings,
    private readonly sender: FederationSender,
    private readonly origin: string,
    private readonly room: GapRoom,
  ) {}

  /**
   * Spec "Retrieving missing events": ask the origin for the events between the room's forward
   * extremities and `eventId`, and give those that pass the checks to the room oldest first.
   * Returns whether the room stored any.
   */
  async fetchMissingEvents(eventId: string): Promise<boolean> {
    const { roomId, api } = this.room;
    const info = await api.getRoomInfo();
    if (!info) return false;
    const answer = await this.request('POST', `/_matrix/federation/v1/get_missing_events/${encodeURIComponent(roomId)}`, 'events', {
      earliest_events: info.forward_extremities,
      latest_events: [eventId],
      limit: MISSING_EVENTS_LIMIT,
      min_depth: 0,
    });
    if (!answer) return false;
    const events = (await this.checked(answer.items.slice(0, MISSING_EVENTS_LIMIT), answer.raws)).sort((a, b) => (a.pdu.depth as number) - (b.pdu.depth as number));
    let stored = false;
    for (const e of events) {
      const r = await api.ingestPdu(e.pdu);
      if (r.status === 'accepted' || r.status === 'soft_failed' || r.status === 'rejected') stored = true;
    }
    return stored;
  }

  /**
   * The `/state_ids` fallback for the prev events of `pdu` among `missing`; undefined when it
   * could not be tried (no prev event missing, the origin not answering, too much state).
   */
  async fillFromStateIds(pdu: JsonObject, missing: readonly string[]): Promise<IngestResult | undefined> {
    const { roomId, api } = this.room;
    const prevs = stringList(pdu.prev_events).filter((id) => missing.includes(id));
    if (prevs.length === 0) return undefined;
    const stateBefore: Record<string, string[]> = {};
    const wanted = new Set([...prevs, ...stringList(pdu.auth_events)]);
    for (const prev of prevs) {
      const answer = await this.request('GET', `/_matrix/federation/v1/state_ids/${encodeURIComponent(roomId)}?event_id=${encodeURIComponent(prev)}`);
      if (!answer) return undefined;
      const pduIds = stringList(answer.body.pdu_ids);
      stateBefore[prev] = pduIds;
      for (const id of [...pduIds, ...stringList(answer.body.auth_chain_ids)]) wanted.add(id);
    }
    const unknown = await api.getUnknownEventIds([...wanted]);
    if (unknown.length > MAX_EVENTS_FETCHED) {
      console.warn(`federation/send: the state at ${prevs.join(', ')} in ${roomId} lacks ${unknown.length} events here; not fetched`);
      return undefined;
    }
    const events = unknown.length > EVENTS_FETCHED_ONE_BY_ONE ? await this.fetchStates(prevs, unknown) : await this.fetchEvents(unknown);
    return api.ingestPdu(pdu, { state_before: stateBefore, events: events.map((e) => e.pdu) });
  }

  /** The events `ids`, one `/event` request each; those that fail a check or do not come are left out. */
  private async fetchEvents(ids: readonly string[]): Promise<Fetched[]> {
    const out: Fetched[] = [];
    for (let i = 0; i < ids.length; i += FETCH_CONCURRENCY) {
      const batch = ids.slice(i, i + FETCH_CONCURRENCY);
      const answers = await Promise.all(batch.map((id) => this.request('GET', `/_matrix/federation/v1/event/${encodeURIComponent(id)}`, 'pdus')));
      const checked = await this.checked(answers.map((a) => a?.items[0]), answers.map((a) => a?.raws[0]));
      // The event asked for, not another (a server could answer with any event it signed).
      out.push(...checked.filter((e) => batch.includes(e.event_id)));
    }
    return out;
  }

  /**
   * Many unknown events: the whole states at `prevs` from `/state` (the state and its auth
   * chain, spec "Retrieving events"), keeping those of `ids`, and the prev events themselves
   * (not part of the state before them) by `/event`.
   */
  private async fetchStates(prevs: readonly string[], ids: readonly string[]): Promise<Fetched[]> {
    const wanted = new Set(ids);
    const found = new Map<string, Fetched>();
    for (const prev of prevs) {
      const uri = `/_matrix/federation/v1/state/${encodeURIComponent(this.room.roomId)}?event_id=${encodeURIComponent(prev)}`;
      const state = await this.request('GET', uri, 'pdus');
      const authChain = state && arrayMember(state.body, state.text, 'auth_chain');
      if (!state || !authChain) continue;
      const checked = await this.checked([...state.items, ...authChain.items], [...state.raws, ...authChain.raws]);
      for (const e of checked) if (wanted.has(e.event_id)) found.set(e.event_id, e);
    }
    for (const e of await this.fetchEvents(prevs.filter((id) => wanted.has(id) && !found.has(id)))) found.set(e.event_id, e);
    return [...found.values()];
  }

  /**
   * The checks on receipt that come before the room's (spec "Checks performed on receipt of a
   * PDU": a valid event of the room, the room version's strict canonical JSON on its raw text,
   * size limits, then its signatures). Those failing are dropped.
   */
  private async checked(values: readonly (JsonValue | undefined)[], raws: readonly (string | undefined)[] = []): Promise<Fetched[]> {
    const { rules, roomId } = this.room;
    const candidates: Fetched[] = [];
    values.forEach((value, i) => {
      if (!isJsonObject(value) || value.room_id !== roomId) return;
      const raw = raws[i];
      if (rules.strict_canonical_json && (raw === undefined || !validateStrictJsonText(raw).ok)) return;
      if (pduSizeProblem(value)) return;
      try {
        candidates.push({ event_id: computeEventId(parsePdu(value, rules), rules), pdu: value });
      } catch {
        // Malformed: dropped.
      }
    });
    const signatures = await verifyManyEventSignatures(this.env, candidates.map((c) => c.pdu), rules);
    return candidates.filter((_, i) => signatures[i]!.ok);
  }

  /**
   * A signed request to the origin; with `key`, the array under it in the answer, parsed and as
   * raw text. Undefined when the origin fails or answers something else.
   */
  private async request(method: 'GET' | 'POST', uri: string, key?: string, body?: JsonObject): Promise<Answer | undefined> {
    try {
      const { body: answer, text } = await federationRequestWithText<JsonValue>(this.sender, this.origin, method, uri, body);
      if (!isJsonObject(answer)) return undefined;
      if (key === undefined) return { body: answer, text, items: [], raws: [] };
      const member = arrayMember(answer, text, key);
      return member && { body: answer, text, ...member };
    } catch (e) {
      console.warn(`federation/send: ${method} ${uri} at ${this.origin} failed: ${(e as Error).message}`);
      return undefined;
    }
  }
}

/** An array of an answer (`pdus` of `/event` and `/state`, `events` of `/get_missing_events`). */
interface ArrayMember {
  items: JsonValue[];
  /** The items' raw text, in order. */
  raws: string[];
}

interface Answer extends ArrayMember {
  body: JsonObject;
  text: string;
}

/** The array under `key` of an answer, and its items' raw text; undefined when it is no array. */
function arrayMember(body: JsonObject, text: string, key: string): ArrayMember | undefined {
  const items = body[key];
  if (!Array.isArray(items)) return undefined;
  return { items, raws: rawArrayMember(text, key) ?? [] };
}
