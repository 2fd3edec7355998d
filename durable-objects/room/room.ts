/**
 * One Durable Object per room: it owns the room's event DAG, its state (as state groups) and a
 * per-room stream order, and it serialises every write.
 *
 * Writes go through one queue drained by a single pump. Local events are planned in memory
 * (prev events, depth, auth events selection, hashes, event ID, auth), signed together (the only
 * await), then written in one `transactionSync`; received PDUs are checked and written without
 * any await. Because only the pump mutates the room, an await never lets another write in
 * between a check and its write, and a batch of concurrent sends costs one transaction.
 */
import { DurableObject } from 'cloudflare:workers';
import { isJsonObject, setOwn, type JsonObject } from '../../core/canonical-json';
import { webCryptoEd25519 } from '../../core/crypto/ed25519-webcrypto';
import { signJson } from '../../core/crypto/signing';
import { computeEventId, contentHash } from '../../core/events/hashes';
import { parsePdu } from '../../core/events/pdu';
import { redactEvent } from '../../core/events/redaction';
import { getRoomVersionRules, type RoomVersionRules } from '../../core/room-versions';
import type { MatrixCore } from '../../wasm/index';
import { matrixCore } from '../../wasm/module';
import type { StateTriple, ThirdPartyVerified } from '../../wasm/ops';
import { homeserverConfig, type HomeserverConfig, type HomeserverVars } from '../../workers/shared/config';
import type { CreateRoomInput, EventRecord, IngestResult, RoomApi, RoomFailure, RoomInfo, SendInput, SendResult } from './api';
import { buildPdu, createTemplate, redactsOf, withEventId, type EventTemplate } from './builder';
import { checkAgainstAuthEvents, checkAgainstState, resolve, selectAuthEvents, stringList, type RoomView } from './checks';
import { thirdPartySigned } from '../../core/auth/third-party-invite';
import { mayRedact } from './redactions';
import { StateGroups, stateKey, toTriples, type StateMap } from './state';
import { RoomStore, type EventStatus, type StoredEvent } from './store';
import { thirdPartyVerdicts } from './third-party';

/** Extremities referenced by one new event (spec suggests a bound; Synapse uses 10). */
const MAX_PREV_EVENTS = 10;
/** Local events planned and committed together at most. */
const MAX_BATCH = 128;
const EVENT_CACHE_SIZE = 4096;

type Job =
  | { kind: 'create'; input: CreateRoomInput; done: (r: SendResult) => void }
  | { kind: 'send'; input: SendInput; done: (r: SendResult) => void }
  | { kind: 'ingest'; pdu: JsonObject; thirdParty: ThirdPartyVerified; done: (r: IngestResult) => void };

type LocalJob = Extract<Job, { kind: 'create' | 'send' }>;

/** A local event checked and ready to sign and write. */
interface Planned {
  job: LocalJob;
  rules: RoomVersionRules;
  event_id: string;
  pdu: JsonObject;
  prev_events: string[];
  before: StateMap;
  /** Group holding `before` when it is a prev event's state; null when it had to be resolved. */
  beforeGroup: number | null | 'prev';
  after: StateMap;
  depth: number;
}

interface Current {
  state: StateMap;
  group: number | null;
  extremities: string[];
}

const fail = (errcode: RoomFailure['errcode'], error: string): RoomFailure => ({ ok: false, errcode, error });

export class Room extends DurableObject<HomeserverVars> implements RoomApi {
  private readonly store: RoomStore;
  private readonly groups: StateGroups;
  private readonly core: MatrixCore;
  private readonly config: HomeserverConfig;
  private rules: RoomVersionRules | undefined;
  private roomId: string | undefined;
  private createId: string | undefined;
  private current: Current = { state: new Map(), group: null, extremities: [] };
  private readonly cache = new Map<string, { pdu: JsonObject; status: EventStatus; group: number | null; depth: number }>();
  /** Events planned in the running batch, visible to the checks of later events in it. */
  private readonly planned = new Map<string, Planned>();
  private readonly queue: Job[] = [];
  private pumping = false;

  constructor(ctx: DurableObjectState, env: HomeserverVars) {
    super(ctx, env);
    this.store = new RoomStore(ctx.storage.sql);
    this.groups = new StateGroups(this.store);
    this.core = matrixCore();
    this.config = homeserverConfig(env);
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.transactionSync(() => this.store.migrate());
      this.loadMeta();
    });
  }

  // ---- RPC: commands ------------------------------------------------------------------------

  /** Create the room: its `m.room.create` event, authored by `creator`. */
  performCreate(input: CreateRoomInput): Promise<SendResult> {
    return new Promise((done) => this.enqueue({ kind: 'create', input, done }));
  }

  /** Create, sign, authorise and persist one local event. */
  performSend(input: SendInput): Promise<SendResult> {
    return new Promise((done) => this.enqueue({ kind: 'send', input, done }));
  }

  /**
   * Accept a PDU from another server through the receipt checks (spec: Server-Server API,
   * "Checks performed on receipt of a PDU"). The caller has checked its format on the raw text
   * and its signatures; this runs the content hash check (redact on mismatch), auth against
   * its auth events and against the state before it (reject), and against the current state
   * (soft-fail).
   */
  async ingestPdu(pdu: JsonObject): Promise<IngestResult> {
    // Third-party-invite signatures need WebCrypto: verify before joining the queue.
    let thirdParty: ThirdPartyVerified = {};
    if (this.rules && thirdPartySigned(pdu)) {
      try {
        thirdParty = await thirdPartyVerdicts(this.store, this.viewEvent, pdu, computeEventId(pdu, this.rules));
      } catch {
        // A PDU whose ID cannot be computed is dropped by the checks in the queue.
      }
    }
    return new Promise((done) => this.enqueue({ kind: 'ingest', pdu, thirdParty, done }));
  }

  // ---- RPC: queries -------------------------------------------------------------------------

  async getRoomInfo(): Promise<RoomInfo | undefined> {
    if (!this.roomId || !this.rules || !this.createId) return undefined;
    return {
      room_id: this.roomId,
      room_version: this.rules.room_version,
      create_event_id: this.createId,
      stream_ordering: this.store.maxStreamOrdering(),
      forward_extremities: [...this.current.extremities],
    };
  }

  async getEvent(eventId: string): Promise<EventRecord | undefined> {
    const e = this.store.getEvent(eventId);
    return e && record(e);
  }

  /** Events in stream order after `since`. */
  async getEventsAfter(since: number, limit = 100): Promise<EventRecord[]> {
    return this.store.eventsAfter(since, Math.min(Math.max(limit, 1), 1000)).map(record);
  }

  async getCurrentState(): Promise<StateTriple[]> {
    return toTriples(this.current.state);
  }

  /** The state after `eventId` (for a rejected event: the state before it). */
  async getStateAfter(eventId: string): Promise<StateTriple[] | undefined> {
    const e = this.store.getEvent(eventId);
    if (!e || e.state_group === null) return undefined;
    return toTriples(this.groups.load(e.state_group));
  }

  /** The state before `eventId`: its prev events' states, resolved when there are several. */
  async getStateBefore(eventId: string): Promise<StateTriple[] | undefined> {
    const e = this.store.getEvent(eventId);
    if (!e || !this.rules) return undefined;
    const states = this.prevStates(stringList(e.pdu.prev_events));
    return states && toTriples(resolve(this.view, states));
  }

  // ---- the write queue ----------------------------------------------------------------------

  private enqueue(job: Job): void {
    this.queue.push(job);
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        if (this.queue[0]!.kind === 'ingest') {
          const job = this.queue.shift() as Extract<Job, { kind: 'ingest' }>;
          job.done(this.guardIngest(job));
          continue;
        }
        // Give concurrent callers' requests one turn of the event loop to arrive, so they share
        // this batch's signing and transaction (WebCrypto resolves without letting them in).
        await new Promise((r) => setTimeout(r, 0));
        let n = 0;
        while (n < this.queue.length && n < MAX_BATCH && this.queue[n]!.kind !== 'ingest') n++;
        await this.runLocalBatch(this.queue.splice(0, n) as LocalJob[]);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Plan every job against the evolving state, sign them together, write them in one go. */
  private async runLocalBatch(jobs: LocalJob[]): Promise<void> {
    const plans: Planned[] = [];
    const results = new Map<LocalJob, SendResult>();
    const txnsInBatch = new Map<string, Planned>();
    const duplicates: [LocalJob, Planned][] = [];
    try {
      for (const job of jobs) {
        const txnKey = job.kind === 'send' && job.input.txn ? JSON.stringify([job.input.sender, job.input.txn.device_id, job.input.txn.txn_id]) : undefined;
        if (txnKey && job.kind === 'send' && job.input.txn) {
          const existing = this.store.getTransaction(job.input.sender, job.input.txn.device_id, job.input.txn.txn_id);
          if (existing) {
            const stored = this.store.getEvent(existing);
            results.set(job, { ok: true, event_id: existing, stream_ordering: stored?.stream_ordering ?? 0 });
            continue;
          }
          const same = txnsInBatch.get(txnKey);
          if (same) {
            duplicates.push([job, same]);
            continue;
          }
        }
        const outcome = this.plan(job);
        if ('ok' in outcome) {
          results.set(job, outcome);
          continue;
        }
        plans.push(outcome);
        this.planned.set(outcome.event_id, outcome);
        if (txnKey) txnsInBatch.set(txnKey, outcome);
      }

      // The one await: Ed25519 over WebCrypto, all events of the batch at once.
      const { serverName, signingKey } = this.config;
      await Promise.all(
        plans.map(async (p) => {
          const signed = await signJson(redactEvent(p.pdu, p.rules), serverName, signingKey.keyId, signingKey.seed, webCryptoEd25519);
          setOwn(p.pdu, 'signatures', signed.signatures as JsonObject);
        }),
      );

      const orderings = this.ctx.storage.transactionSync(() => plans.map((p) => this.writeLocal(p)));
      plans.forEach((p, i) => results.set(p.job, { ok: true, event_id: p.event_id, stream_ordering: orderings[i]! }));
      for (const [job, same] of duplicates) results.set(job, results.get(same.job)!);
      const last = plans.at(-1);
      if (last) this.setCurrent({ state: last.after, group: this.cache.get(last.event_id)!.group, extremities: [last.event_id] });
    } catch (e) {
      // Nothing of the batch was written (the transaction rolled back): reload and report.
      console.error('room batch failed:', e);
      this.groups.clear();
      this.cache.clear();
      this.loadMeta();
      for (const job of jobs) if (!results.has(job) || plans.some((p) => p.job === job)) results.set(job, fail('M_UNKNOWN', 'the event could not be stored'));
    } finally {
      this.planned.clear();
    }
    for (const job of jobs) job.done(results.get(job) ?? fail('M_UNKNOWN', 'the event was not processed'));
  }

  /** Build and authorise one local event on top of what is already planned. */
  private plan(job: LocalJob): Planned | RoomFailure {
    let rules = this.rules;
    let template: EventTemplate;
    let roomId = this.roomId;
    if (job.kind === 'create') {
      if (this.rules || [...this.planned.values()].some((p) => p.job.kind === 'create')) return fail('M_FORBIDDEN', 'the room already exists');
      rules = getRoomVersionRules(job.input.room_version);
      if (!rules) return fail('M_UNSUPPORTED_ROOM_VERSION', `room version ${job.input.room_version} is not supported`);
      template = createTemplate(rules, job.input.creator, job.input.content);
      roomId = job.input.room_id;
    } else {
      if (!rules || !roomId) return fail('M_NOT_FOUND', 'the room does not exist here');
      const { txn: _txn, origin_server_ts: _ts, ...rest } = job.input;
      template = rest;
    }
    const tip = this.tip();
    const prevEvents = job.kind === 'create' ? [] : tip.prevEvents;
    const before = job.kind === 'create' ? new Map<string, string>() : tip.before;
    const depth = job.kind === 'create' ? 1 : tip.depth + 1;
    const viewRules = rules!;
    const view = this.viewFor(viewRules);
    const draft: JsonObject = { type: template.type, sender: template.sender, content: template.content };
    if (template.state_key !== undefined) draft.state_key = template.state_key;
    let built;
    try {
      built = buildPdu(viewRules, template, {
        room_id: roomId!,
        prev_events: prevEvents,
        auth_events: selectAuthEvents(view, draft, before),
        depth,
        origin_server_ts: job.input.origin_server_ts ?? Date.now(),
      });
    } catch (e) {
      return fail('M_BAD_JSON', (e as Error).message);
    }
    if (job.kind === 'create' && viewRules.room_id_is_create_event_hash) {
      const derived = `!${built.event_id.slice(1)}`;
      if (derived !== job.input.room_id) return fail('M_BAD_JSON', `a room version ${viewRules.room_version} room's ID is ${derived}`);
    }
    const verdict = checkAgainstAuthEvents(view, withEventId(built.pdu, built.event_id));
    if (!verdict.allowed) return fail('M_FORBIDDEN', `${verdict.message} (${verdict.reason})`);
    const after = template.state_key === undefined ? before : new Map(before).set(stateKey(template.type, template.state_key), built.event_id);
    return { job, rules: viewRules, event_id: built.event_id, pdu: built.pdu, prev_events: prevEvents, before, beforeGroup: tip.beforeGroup, after, depth };
  }

  /** Where the next local event goes: prev events, the state before it, and the depth. */
  private tip(): { prevEvents: string[]; before: StateMap; beforeGroup: number | null | 'prev'; depth: number } {
    const last = [...this.planned.values()].at(-1);
    if (last) return { prevEvents: [last.event_id], before: last.after, beforeGroup: 'prev', depth: last.depth };
    const extremities = this.current.extremities
      .map((id) => ({ id, depth: this.eventInfo(id)?.depth ?? 0 }))
      .sort((a, b) => b.depth - a.depth || (a.id < b.id ? -1 : 1));
    const chosen = extremities.slice(0, MAX_PREV_EVENTS);
    const depth = Math.max(0, ...chosen.map((e) => e.depth));
    if (chosen.length === extremities.length) {
      return { prevEvents: chosen.map((e) => e.id), before: this.current.state, beforeGroup: extremities.length === 1 ? 'prev' : this.current.group, depth };
    }
    const states = this.prevStates(chosen.map((e) => e.id)) ?? [this.current.state];
    return { prevEvents: chosen.map((e) => e.id), before: resolve(this.view, states), beforeGroup: null, depth };
  }

  /** Write one planned local event (inside the batch transaction); returns its stream order. */
  private writeLocal(p: Planned): number {
    if (p.job.kind === 'create') {
      const rules = p.rules;
      this.rules = rules;
      this.roomId = p.job.input.room_id;
      this.createId = p.event_id;
      this.store.setMeta('room_id', p.job.input.room_id);
      this.store.setMeta('room_version', rules.room_version);
      this.store.setMeta('create_event_id', p.event_id);
    }
    const beforeGroup = p.beforeGroup === 'prev' ? (p.prev_events[0] ? this.eventInfo(p.prev_events[0])!.group : null) : p.beforeGroup ?? this.groups.save(p.before, this.current.group);
    const group = p.after === p.before ? beforeGroup : this.groups.save(p.after, beforeGroup);
    const ordering = this.insert(p.event_id, p.pdu, 'accepted', null, group, p.prev_events);
    if (p.job.kind === 'send' && p.job.input.txn) {
      this.store.insertTransaction(p.job.input.sender, p.job.input.txn.device_id, p.job.input.txn.txn_id, p.event_id);
    }
    this.store.updateForwardExtremities([p.event_id], p.prev_events);
    this.store.setMeta('current_state_group', String(group));
    this.current = { state: p.after, group, extremities: [p.event_id] };
    return ordering;
  }

  // ---- received PDUs ------------------------------------------------------------------------

  private guardIngest(job: Extract<Job, { kind: 'ingest' }>): IngestResult {
    try {
      return this.ingest(job.pdu, job.thirdParty);
    } catch (e) {
      console.error('ingest failed:', e);
      this.groups.clear();
      this.cache.clear();
      this.loadMeta();
      return { status: 'dropped', reason: `could not process: ${(e as Error).message}` };
    }
  }

  private ingest(received: JsonObject, thirdParty: ThirdPartyVerified): IngestResult {
    const isCreate = received.type === 'm.room.create';
    const rules = this.rules ?? (isCreate && isJsonObject(received.content) ? getRoomVersionRules(String(received.content.room_version ?? '1')) : undefined);
    if (!rules) return { status: 'dropped', reason: this.rules ? 'unknown room version' : 'the room has no create event here yet' };
    let pdu: JsonObject;
    let eventId: string;
    try {
      pdu = parsePdu(received, rules);
      eventId = computeEventId(pdu, rules);
    } catch (e) {
      return { status: 'dropped', reason: `malformed PDU: ${(e as Error).message}` };
    }
    if (this.eventInfo(eventId)) return { event_id: eventId, status: 'duplicate' };
    if (!isCreate && pdu.room_id !== this.roomId) return { event_id: eventId, status: 'dropped', reason: 'the PDU is for another room' };
    if (isCreate && this.rules) return { event_id: eventId, status: 'rejected', reason: 'the room already has a create event' };

    // Step 3: a content hash mismatch means the event is processed (and kept) redacted.
    const hashes = pdu.hashes as JsonObject;
    if (hashes.sha256 !== contentHash(pdu)) pdu = redactEvent(pdu, rules);

    const prevEvents = stringList(pdu.prev_events);
    const authEvents = stringList(pdu.auth_events);
    const missing = [...authEvents, ...prevEvents].filter((id) => !this.eventInfo(id));
    if (missing.length > 0) return { event_id: eventId, status: 'missing', reason: 'prev or auth events are unknown', missing };

    const view = this.viewFor(rules);
    const event = withEventId(pdu, eventId);
    if (isCreate) {
      const verdict = checkAgainstAuthEvents(view, event, thirdParty);
      if (!verdict.allowed) return { event_id: eventId, status: 'rejected', reason: verdict.message };
      return this.ctx.storage.transactionSync(() => {
        this.rules = rules;
        this.roomId = (pdu.room_id as string | undefined) ?? `!${eventId.slice(1)}`;
        this.createId = eventId;
        this.store.setMeta('room_id', this.roomId);
        this.store.setMeta('room_version', rules.room_version);
        this.store.setMeta('create_event_id', eventId);
        const after = new Map([[stateKey('m.room.create', ''), eventId]]);
        const group = this.groups.save(after, null);
        this.insert(eventId, pdu, 'accepted', null, group, []);
        this.store.updateForwardExtremities([eventId], []);
        this.store.setMeta('current_state_group', String(group));
        this.current = { state: after, group, extremities: [eventId] };
        return { event_id: eventId, status: 'accepted' as const };
      });
    }

    // Step 4: against its own auth events.
    const byAuthEvents = checkAgainstAuthEvents(view, event, thirdParty);
    // Step 5: against the state before it (its prev events' states, resolved).
    const prevStates = this.prevStates(prevEvents)!;
    const before = resolve(view, prevStates, thirdParty);
    const byStateBefore = byAuthEvents.allowed ? checkAgainstState(view, event, before, thirdParty) : byAuthEvents;
    // Step 6: against the current state; failing only this soft-fails.
    const byCurrent = byStateBefore.allowed ? checkAgainstState(view, event, this.current.state, thirdParty) : byStateBefore;
    const status: EventStatus = !byStateBefore.allowed ? 'rejected' : !byCurrent.allowed ? 'soft_failed' : 'accepted';
    const reason = byCurrent.allowed ? undefined : byCurrent.message;

    return this.ctx.storage.transactionSync(() => {
      const beforeGroup = prevStates.length === 1 ? this.eventInfo(prevEvents[0]!)!.group : this.groups.save(before, this.eventInfo(prevEvents[0]!)!.group);
      const isState = typeof pdu.state_key === 'string';
      const after = status !== 'rejected' && isState ? new Map(before).set(stateKey(pdu.type as string, pdu.state_key as string), eventId) : before;
      const group = after === before ? beforeGroup : this.groups.save(after, beforeGroup);
      this.insert(eventId, pdu, status, reason ?? null, group, prevEvents);
      if (status === 'accepted') this.advanceExtremities(eventId, prevEvents, after, group);
      return { event_id: eventId, status, ...(reason ? { reason } : {}) };
    });
  }

  /** A new accepted event replaces its prev events as forward extremity; current state follows. */
  private advanceExtremities(eventId: string, prevEvents: string[], after: StateMap, group: number | null): void {
    const extremities = [...this.current.extremities.filter((id) => !prevEvents.includes(id)), eventId];
    this.store.updateForwardExtremities([eventId], prevEvents);
    if (extremities.length === 1) {
      this.store.setMeta('current_state_group', String(group));
      this.current = { state: after, group, extremities };
      return;
    }
    const states = this.prevStates(extremities)!;
    const state = resolve(this.view, states);
    const currentGroup = this.groups.save(state, group);
    this.store.setMeta('current_state_group', String(currentGroup));
    this.current = { state, group: currentGroup, extremities };
  }

  // ---- shared write steps -------------------------------------------------------------------

  /** Insert an event and apply redactions that concern it (both directions). */
  private insert(eventId: string, pdu: JsonObject, status: EventStatus, rejection: string | null, group: number | null, prevEvents: string[]): number {
    const rules = this.rules!;
    let stored = pdu;
    // A redaction that arrived before its target applies now.
    for (const redactionId of this.store.takePendingRedactions(eventId)) {
      const redaction = this.viewEvent(redactionId);
      if (redaction && mayRedact(this.view, redaction, withEventId(pdu, eventId))) {
        stored = redactEvent(pdu, rules);
        break;
      }
    }
    const ordering = this.store.insertEvent({
      event_id: eventId,
      type: pdu.type as string,
      state_key: typeof pdu.state_key === 'string' ? pdu.state_key : null,
      sender: pdu.sender as string,
      depth: pdu.depth as number,
      origin_server_ts: pdu.origin_server_ts as number,
      pdu: stored,
      status,
      rejection,
      state_group: group,
      prev_events: prevEvents,
      auth_events: stringList(pdu.auth_events),
    });
    this.cache.set(eventId, { pdu: withEventId(stored, eventId), status, group, depth: pdu.depth as number });
    this.trimCache();
    if (status === 'accepted' && pdu.type === 'm.room.redaction') this.applyRedaction(withEventId(pdu, eventId));
    return ordering;
  }

  /**
   * Redact the target of an accepted `m.room.redaction` (spec: "Redactions"), if the room
   * version's rule allows it, or remember it until the target arrives.
   */
  private applyRedaction(redaction: JsonObject): void {
    const targetId = redactsOf(this.rules!, redaction);
    if (!targetId) return;
    const target = this.store.getEvent(targetId);
    if (!target) {
      this.store.addPendingRedaction(targetId, redaction.event_id as string);
      return;
    }
    if (target.redacted_by || !mayRedact(this.view, redaction, withEventId(target.pdu, targetId))) return;
    const redacted = redactEvent(target.pdu, this.rules!);
    this.store.replaceEventJson(targetId, redacted, redaction.event_id as string);
    this.cache.delete(targetId);
  }

  // ---- reading helpers ----------------------------------------------------------------------

  private loadMeta(): void {
    const version = this.store.getMeta('room_version');
    this.rules = version ? getRoomVersionRules(version) : undefined;
    this.roomId = this.store.getMeta('room_id');
    this.createId = this.store.getMeta('create_event_id');
    const group = this.store.getMeta('current_state_group');
    const groupId = group && group !== 'null' ? Number(group) : null;
    this.current = {
      state: groupId === null ? new Map() : this.groups.load(groupId),
      group: groupId,
      extremities: this.store.getForwardExtremities(),
    };
  }

  private setCurrent(current: Current): void {
    this.current = current;
  }

  private eventInfo(eventId: string): { pdu: JsonObject; status: EventStatus; group: number | null; depth: number } | undefined {
    // Written events are cached with their state group; planned ones have none yet.
    const hit = this.cache.get(eventId);
    if (hit) return hit;
    const planned = this.planned.get(eventId);
    if (planned) return { pdu: withEventId(planned.pdu, eventId), status: 'accepted', group: null, depth: planned.depth };
    const e = this.store.getEvent(eventId);
    if (!e) return undefined;
    const info = { pdu: withEventId(e.pdu, eventId), status: e.status, group: e.state_group, depth: e.depth };
    this.cache.set(eventId, info);
    this.trimCache();
    return info;
  }

  private trimCache(): void {
    while (this.cache.size > EVENT_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
  }

  /** The states after each of `eventIds`; undefined if one is unknown or has no state. */
  private prevStates(eventIds: string[]): StateMap[] | undefined {
    const states: StateMap[] = [];
    for (const id of eventIds) {
      const planned = this.planned.get(id);
      if (planned) {
        states.push(planned.after);
        continue;
      }
      const info = this.eventInfo(id);
      if (!info || info.group === null) return undefined;
      states.push(this.groups.load(info.group));
    }
    return states;
  }

  private readonly viewEvent = (eventId: string): JsonObject | undefined => this.eventInfo(eventId)?.pdu;

  private viewFor(rules: RoomVersionRules): RoomView {
    return {
      rules,
      core: this.core,
      event: this.viewEvent,
      status: (id) => this.eventInfo(id)?.status,
      createEventId: () => this.createId ?? [...this.planned.values()].find((p) => p.job.kind === 'create')?.event_id,
    };
  }

  private get view(): RoomView {
    return this.viewFor(this.rules!);
  }
}

function record(e: StoredEvent): EventRecord {
  return { event_id: e.event_id, stream_ordering: e.stream_ordering, pdu: e.pdu, status: e.status, rejection: e.rejection, redacted_by: e.redacted_by };
}
