/**
 * One Durable Object per room: it owns the room's event DAG, its state (as state groups) and a
 * per-room stream order, and it serialises every write.
 *
 * Writes go through one queue drained by a single pump. Local events are planned in memory
 * (local.ts), signed together (the only await), then written in one `transactionSync`;
 * received PDUs are checked and written without any await (receive.ts). Because only the pump
 * mutates the room, an await never lets another write in between a check and its write, and a
 * batch of concurrent sends costs one signing round and one transaction.
 */
import { DurableObject } from 'cloudflare:workers';
import { thirdPartySigned } from '../../core/auth/third-party-invite';
import { isJsonObject, setOwn, type JsonObject } from '../../core/canonical-json';
import { webCryptoEd25519 } from '../../core/crypto/ed25519-webcrypto';
import { signBytes } from '../../core/crypto/signing';
import { computeEventId } from '../../core/events/hashes';
import { matrixCore } from '../../wasm/module';
import type { StateTriple, ThirdPartyVerified } from '../../wasm/ops';
import type { HomeserverBindings } from '../../workers/homeserver/env';
import { homeserverConfig, type HomeserverConfig } from '../../workers/shared/config';
import type {
  CreateRoomInput, EventRecord, IngestResult, MembershipInfo, RoomApi, RoomInfo, SendInput, SendResult, TimelinePage, TimelineQuery, SyncRoomRequest, SyncRoomResponse,
} from './api';
import { resolve, stringList } from './checks';
import { RoomDag } from './dag';
import { fail, planLocal, writeLocal, type LocalRequest, type Planned } from './local';
import { Outbox } from './outbox';
import { receivePdu } from './receive';
import type { ReceiptCommand, RoomResult, TypingInput } from './api';
import type { PresenceStatus } from '../user/api';
import { RoomEphemeral } from './ephemeral';
import { leaveWithoutJoin, membershipAt, strippedState, syncRoom } from './sync';
import { StateGroups, stateKey as stateKeyOf, toTriples } from './state';
import { RoomStore, type StoredEvent } from './store';
import { thirdPartyVerdicts } from './third-party';
import { timelinePage } from './timeline';
import { StateLookup, VisibilityFilter } from './visibility';
import { heroesNeeded, lazySyncMembers, sendersMembers, SyncSummaries } from './members';
import type { HistoryAccess } from './api';
import type { EventContext, EventContextQuery, RelationsPage, RelationsQuery, ThreadsPage, ThreadsQuery } from './api';
import { relationsPage, threadsPage } from './reads';
import type { RoomSummary } from './api';
import { roomSummary } from './summary';

/** Local events planned and committed together at most. */
const MAX_BATCH = 128;

/** `check`: plan an event as if sending it, to learn whether the auth rules allow it; nothing is written. */
type LocalJob = (LocalRequest | { kind: 'check'; input: SendInput }) & { done: (r: SendResult) => void };
type Job = LocalJob | { kind: 'ingest'; pdu: JsonObject; thirdParty: ThirdPartyVerified; done: (r: IngestResult) => void };

export class Room extends DurableObject<HomeserverBindings> implements RoomApi {
  private readonly record = (e: StoredEvent): EventRecord => toRecord(e, this.store);
  private readonly store: RoomStore;
  private readonly dag: RoomDag;
  private readonly config: HomeserverConfig;
  private readonly queue: Job[] = [];
  private pumping = false;
  private readonly outbox: Outbox;
  /** Typing (in memory), receipts and presence; created with the schema. */
  private ephemeral!: RoomEphemeral;
  /** /sync room summaries (members.ts), made on first use. */
  private summaries: SyncSummaries | undefined;

  constructor(ctx: DurableObjectState, env: HomeserverBindings) {
    super(ctx, env);
    this.store = new RoomStore(ctx.storage.sql);
    this.config = homeserverConfig(env);
    this.dag = new RoomDag(this.store, new StateGroups(this.store), matrixCore(), this.config.serverName, this.config.signingKey.keyId);
    this.outbox = new Outbox({
      store: this.store,
      dag: this.dag,
      users: env.USER,
      ephemeralSerial: () => this.ephemeral.serial,
      transaction: (fn) => ctx.storage.transactionSync(fn),
      scheduleAlarm: (at) => this.scheduleAlarm(at),
    });
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.transactionSync(() => this.store.migrate());
      this.dag.load();
      this.ephemeral = new RoomEphemeral(this.store, this.dag, (fn) => ctx.storage.transactionSync(fn));
      // Members may still show who was typing before the restart: clear it from the alarm.
      if (this.ephemeral.staleTyping) await ctx.storage.setAlarm(Date.now());
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
   * Whether `input` would be accepted now (auth rules, size), without sending it: planned in
   * the write queue like a send, against the state a send would see, then dropped.
   */
  queryMaySend(input: SendInput): Promise<RoomResult<object>> {
    return new Promise((done) => this.enqueue({ kind: 'check', input, done: (r) => done(r.ok ? { ok: true } : r) }));
  }

  /**
   * Accept a PDU from another server through the receipt checks. The caller has checked its
   * format on the raw text and its signatures (see receive.ts).
   */
  async ingestPdu(pdu: JsonObject): Promise<IngestResult> {
    // Third-party-invite signatures need WebCrypto: verify before joining the queue.
    let thirdParty: ThirdPartyVerified = {};
    if (this.dag.rules && thirdPartySigned(pdu)) {
      try {
        thirdParty = await thirdPartyVerdicts(this.store, this.dag.event, pdu, computeEventId(pdu, this.dag.rules));
      } catch {
        // A PDU whose ID cannot be computed is dropped by the checks in the queue.
      }
    }
    return new Promise((done) => this.enqueue({ kind: 'ingest', pdu, thirdParty, done }));
  }

  // ---- RPC: ephemeral data (typing, receipts; see ephemeral.ts) ------------------------------

  async performTyping(input: TypingInput): Promise<RoomResult<object>> {
    const denied = this.requireJoined(input.user_id);
    if (denied) return denied;
    const expiresAt = Date.now() + Math.max(input.timeout_ms, 0);
    if (this.ephemeral.setTyping(input.user_id, input.typing, expiresAt)) this.outbox.schedule();
    const next = this.ephemeral.nextExpiry();
    if (next !== undefined) await this.scheduleAlarm(next);
    return { ok: true };
  }

  async performReceipt(input: ReceiptCommand): Promise<RoomResult<object>> {
    const denied = this.requireJoined(input.user_id);
    if (denied) return denied;
    const e = this.store.getEvent(input.event_id);
    if (!e || e.status !== 'accepted') return fail('M_NOT_FOUND', `Unknown event ${input.event_id}`);
    if (this.ephemeral.putReceipt({ ...input, ts: Date.now() }, e.stream_ordering)) this.outbox.schedule();
    return { ok: true };
  }

  async performPresence(input: PresenceStatus): Promise<RoomResult<object>> {
    const denied = this.requireJoined(input.user_id);
    if (denied) return denied;
    if (this.ephemeral.putPresence(input)) this.outbox.schedule();
    return { ok: true };
  }

  private requireJoined(userId: string): RoomResult<object> | undefined {
    if (!this.dag.roomId) return fail('M_NOT_FOUND', 'Unknown room.');
    const id = this.dag.current.state.get(stateKeyOf('m.room.member', userId));
    const content = id === undefined ? undefined : this.dag.event(id)?.content;
    if (!isJsonObject(content) || content.membership !== 'join') return fail('M_FORBIDDEN', `${userId} is not in the room.`);
    return undefined;
  }

  /** Have the alarm fire at `at` at the latest (one alarm serves the outbox retry and typing expiry). */
  private async scheduleAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current <= Date.now() || current > at) await this.ctx.storage.setAlarm(at);
  }

  // ---- RPC: queries -------------------------------------------------------------------------

  async getRoomInfo(): Promise<RoomInfo | undefined> {
    const { roomId, rules, createId, current } = this.dag;
    if (!roomId || !rules || !createId) return undefined;
    return {
      room_id: roomId,
      room_version: rules.room_version,
      create_event_id: createId,
      stream_ordering: this.store.maxStreamOrdering(),
      forward_extremities: [...current.extremities],
    };
  }

  async getEvent(eventId: string): Promise<EventRecord | undefined> {
    const e = this.store.getEvent(eventId);
    return e && this.record(e);
  }

  /** Events in stream order after `since`. */
  async getEventsAfter(since: number, limit = 100): Promise<EventRecord[]> {
    return this.store.eventsAfter(since, Math.min(Math.max(limit, 1), 1000)).map(this.record);
  }

  async getCurrentState(): Promise<StateTriple[]> {
    return toTriples(this.dag.current.state);
  }

  /** The state after `eventId` (for a rejected event: the state before it). */
  async getStateAfter(eventId: string): Promise<StateTriple[] | undefined> {
    const e = this.store.getEvent(eventId);
    if (!e || e.state_group === null) return undefined;
    return toTriples(this.dag.groups.load(e.state_group));
  }

  /** The state before `eventId`: its prev events' states, resolved when there are several. */
  async getStateBefore(eventId: string): Promise<StateTriple[] | undefined> {
    const e = this.store.getEvent(eventId);
    if (!e || !this.dag.rules) return undefined;
    const states = this.dag.prevStates(stringList(e.pdu.prev_events));
    return states && toTriples(resolve(this.dag.view, states));
  }

  async getStateEvent(type: string, stateKey: string): Promise<EventRecord | undefined> {
    const id = this.dag.current.state.get(stateKeyOf(type, stateKey));
    const e = id === undefined ? undefined : this.store.getEvent(id);
    return e && this.record(e);
  }

  async getCurrentStateEvents(type?: string): Promise<EventRecord[]> {
    const ids = toTriples(this.dag.current.state)
      .filter(([t]) => type === undefined || t === type)
      .map(([, , id]) => id);
    const events = this.store.getEvents(ids);
    return ids.flatMap((id) => {
      const e = events.get(id);
      return e ? [this.record(e)] : [];
    });
  }

  async queryMembership(userId: string): Promise<MembershipInfo | undefined> {
    if (!this.dag.roomId) return undefined;
    const contentOf = (type: string, key: string) => {
      const id = this.dag.current.state.get(stateKeyOf(type, key));
      const content = id === undefined ? undefined : this.dag.event(id)?.content;
      return isJsonObject(content) ? content : {};
    };
    const membership = contentOf('m.room.member', userId).membership;
    const visibility = contentOf('m.room.history_visibility', '').history_visibility;
    return {
      room_id: this.dag.roomId,
      membership: typeof membership === 'string' ? membership : null,
      history_visibility: typeof visibility === 'string' ? visibility : 'shared',
    };
  }

  /** `queryMembership`, and whether the user may see any event (see visibility.ts). */
  async queryHistoryAccess(userId: string): Promise<HistoryAccess | undefined> {
    const info = await this.queryMembership(userId);
    return info && { ...info, sees_history: new VisibilityFilter(this.dag, userId).seesAnything() };
  }

  async getVisibleEvent(eventId: string, userId: string): Promise<EventRecord | undefined> {
    const e = this.store.getEvent(eventId);
    return e && new VisibilityFilter(this.dag, userId).sees(e) ? this.record(e) : undefined;
  }

  /** A page of accepted events in stream order under a filter and the reader's visibility (see `TimelineQuery`). */
  async getTimeline(query: TimelineQuery): Promise<TimelinePage> {
    const lookup = new StateLookup(this.dag);
    const reader = query.user_id === undefined ? undefined : new VisibilityFilter(this.dag, query.user_id, lookup);
    const page = timelinePage(this.store, query, reader?.sees);
    const members = query.lazy_load_members ? { state: sendersMembers(lookup, page.events).map(this.record) } : {};
    return { ...page, events: page.events.map(this.record), ...members };
  }

  /** One room's part of a user's /sync: timeline (from, to], its state, or an invite's stripped state. */
  async getSyncRoom(r: SyncRoomRequest): Promise<SyncRoomResponse | undefined> {
    if (!this.dag.roomId) return undefined;
    if (r.membership === 'invite' || r.membership === 'knock') {
      return { events: [], limited: false, prev_batch: r.to, state: [], invite_state: strippedState(this.store, this.dag.current.state, r.user_id) };
    }
    if (r.membership === 'leave' || r.membership === 'ban') {
      const own = leaveWithoutJoin(this.store, this.dag.groups, r.to, r.user_id);
      if (own) return { events: [this.record(own)], limited: false, prev_batch: own.stream_ordering - 1, state: [] };
    }
    // Newly joined (from an invite, or again after leaving): the whole state and ephemeral data.
    const fresh = r.membership === 'join' && r.from > 0 && membershipAt(this.store, this.dag.groups, r.from, r.user_id) !== 'join';
    const slice = syncRoom(this.store, this.dag.groups, {
      from: fresh ? 0 : r.from, to: r.to, limit: Math.min(Math.max(r.limit, 0), 1000), full_state: r.full_state || fresh, lazy_members: r.lazy_load_members === true,
    });
    // Spec "Room History Visibility": the timeline holds only what the user may see (e.g. nothing
    // after their leave, nothing before their join under `joined`).
    const lookup = new StateLookup(this.dag);
    const events = new VisibilityFilter(this.dag, r.user_id, lookup).filter(slice.events);
    const groupAt = (position: number) => (position > 0 ? this.store.stateGroupAtPosition(position) : null);
    const toGroup = groupAt(r.to);
    // Spec (/sync `summary`): given for joined rooms; it is required with lazy-loaded members.
    const summary = r.membership === 'join' && toGroup !== null ? (this.summaries ??= new SyncSummaries(this.store)).summary(this.dag.groups.load(toGroup), r.user_id) : undefined;
    const state = !r.lazy_load_members ? slice.state : [
      ...slice.state,
      ...lazySyncMembers(lookup, {
        userId: r.user_id,
        timeline: events,
        startGroup: groupAt(slice.prev_batch),
        ...(r.from === 0 || r.full_state || fresh ? {} : { fromGroup: groupAt(r.from) }),
        heroes: summary && heroesNeeded(lookup, toGroup) ? summary['m.heroes'] : [],
      }),
    ];
    const range = r.membership === 'join' && r.ephemeral_to !== undefined
      ? { user_id: r.user_id, from: fresh ? 0 : (r.ephemeral_from ?? 0), to: r.ephemeral_to }
      : undefined;
    const ephemeral = range ? { ephemeral: this.ephemeral.eventsFor(range), presence: this.ephemeral.presenceFor(range) } : {};
    // Spec (`UnsignedData.transaction_id`): the sending device gets its transaction ID back.
    const txns = r.device_id ? this.store.transactionIds(r.user_id, r.device_id, events.filter((e) => e.sender === r.user_id).map((e) => e.event_id)) : new Map<string, string>();
    const withTxn = (e: StoredEvent): EventRecord => {
      const t = txns.get(e.event_id);
      return t === undefined ? this.record(e) : { ...this.record(e), transaction_id: t.replace(/^m\.redact\//, '') };
    };
    return {
      events: events.map(withTxn), limited: slice.limited, prev_batch: slice.prev_batch, state: state.map(this.record), ...ephemeral, ...(summary ? { summary } : {}),
    };
  }

  // ---- RPC: reads around events (context, relations, threads, timestamps; see reads.ts) ------

  async getEventContext(q: EventContextQuery): Promise<EventContext | undefined> {
    const e = this.store.getEvent(q.event_id);
    if (!e || e.status !== 'accepted') return undefined;
    if (q.user_id !== undefined && !new VisibilityFilter(this.dag, q.user_id).sees(e)) return undefined;
    // Bound the forward walk now, so `end` is exact even if events arrive meanwhile.
    const newest = this.store.maxStreamOrdering();
    const filter = { ...(q.filter ? { filter: q.filter } : {}), ...(q.user_id !== undefined ? { user_id: q.user_id } : {}) };
    const before = await this.getTimeline({ dir: 'b', from: e.stream_ordering - 1, limit: q.before, ...filter });
    const after = await this.getTimeline({ dir: 'f', from: e.stream_ordering, to: newest, limit: q.after, ...filter });
    // Spec: "The state of the room at the last event returned".
    const lastId = after.events.at(-1)?.event_id;
    const group = lastId === undefined ? e.state_group : (this.store.getEvent(lastId)?.state_group ?? null);
    const ids = group === null ? [] : toTriples(this.dag.groups.load(group)).map(([, , id]) => id);
    const loaded = this.store.getEvents(ids);
    return {
      event: this.record(e),
      events_before: before.events,
      events_after: after.events,
      start: before.end ?? 0,
      end: after.end ?? newest,
      state: ids.flatMap((id) => {
        const s = loaded.get(id);
        return s ? [this.record(s)] : [];
      }),
    };
  }

  async getRelations(q: RelationsQuery): Promise<RelationsPage | undefined> {
    const reader = q.user_id === undefined ? undefined : new VisibilityFilter(this.dag, q.user_id);
    const page = relationsPage(this.store, { ...q, limit: Math.min(Math.max(q.limit, 1), 1000) }, reader?.sees);
    return page && { events: page.events.map(this.record), ...(page.next !== undefined ? { next: page.next } : {}) };
  }

  async getThreads(q: ThreadsQuery): Promise<ThreadsPage> {
    const page = threadsPage(this.store, { ...q, limit: Math.min(Math.max(q.limit, 1), 1000) }, new VisibilityFilter(this.dag, q.user_id).sees);
    return {
      threads: page.threads.map((t) => ({ ...t, root: this.record(t.root), latest_event: this.record(t.latest_event) })),
      ...(page.next !== undefined ? { next: page.next } : {}),
    };
  }

  async getEventNearTimestamp(ts: number, dir: 'f' | 'b'): Promise<EventRecord | undefined> {
    const e = this.store.eventNearTimestamp(ts, dir);
    return e && this.record(e);
  }

  // ---- RPC: the room's summary (directories; see summary.ts) ----------------------------------

  async getRoomSummary(): Promise<RoomSummary | undefined> {
    const { roomId, rules } = this.dag;
    return roomId && rules ? roomSummary(this.store, roomId, rules.room_version, this.dag.current.state) : undefined;
  }

  // ---- the write queue ----------------------------------------------------------------------

  private enqueue(job: Job): void {
    this.queue.push(job);
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (;;) {
        if (this.queue.length === 0) {
          // After a batch, give requests that arrived meanwhile one turn of the event loop to be
          // delivered (WebCrypto resolves without letting them in), so they form the next batch
          // and share its signing and transaction. Callers already answered wait for nothing.
          await new Promise((r) => setTimeout(r, 0));
          if (this.queue.length === 0) break;
        }
        const next = this.queue[0]!;
        if (next.kind === 'ingest') {
          this.queue.shift();
          next.done(this.receive(next.pdu, next.thirdParty));
          this.outbox.schedule();
          continue;
        }
        let n = 0;
        while (n < this.queue.length && n < MAX_BATCH && this.queue[n]!.kind !== 'ingest') n++;
        await this.runLocalBatch(this.queue.splice(0, n) as LocalJob[]);
        this.outbox.schedule();
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Outbox retries, and typing that expired (or went stale with a restart). */
  override async alarm(): Promise<void> {
    this.ephemeral.expireTyping(Date.now());
    await this.outbox.drain();
    const next = this.ephemeral.nextExpiry();
    if (next !== undefined) await this.scheduleAlarm(next);
  }

  private receive(pdu: JsonObject, thirdParty: ThirdPartyVerified): IngestResult {
    try {
      return receivePdu(this.dag, pdu, thirdParty, (fn) => this.ctx.storage.transactionSync(fn));
    } catch (e) {
      // A bug, or storage failing: the transaction rolled back, so reload what it may have touched.
      console.error('room: receiving a PDU failed:', e);
      this.dag.load();
      return { status: 'dropped', reason: `could not process: ${(e as Error).message}` };
    }
  }

  /** Plan every job against the evolving state, sign them together, write them in one go. */
  private async runLocalBatch(jobs: LocalJob[]): Promise<void> {
    const plans: Planned[] = [];
    const results = new Map<LocalJob, SendResult>();
    const byTxn = new Map<string, LocalJob>();
    const retries: [LocalJob, LocalJob][] = [];
    const now = Date.now();
    try {
      for (const job of jobs) {
        const send = job.kind === 'send' && job.input.txn ? { sender: job.input.sender, txn: job.input.txn } : undefined;
        const txnKey = send && JSON.stringify([send.sender, send.txn.device_id, send.txn.txn_id]);
        if (send && txnKey) {
          // Spec: a retried transaction ID returns the original event, and sends nothing new.
          const existing = this.store.getTransaction(send.sender, send.txn.device_id, send.txn.txn_id);
          if (existing) {
            results.set(job, { ok: true, event_id: existing, stream_ordering: this.store.getEvent(existing)?.stream_ordering ?? 0 });
            continue;
          }
          const first = byTxn.get(txnKey);
          if (first) {
            retries.push([job, first]);
            continue;
          }
        }
        let outcome: Planned | SendResult;
        try {
          outcome = planLocal(this.dag, job.kind === 'check' ? { kind: 'send', input: job.input } : job, now);
        } catch (e) {
          console.error('room: planning an event failed:', e);
          outcome = fail('M_UNKNOWN', 'the event could not be built');
        }
        if ('ok' in outcome) {
          results.set(job, outcome);
          continue;
        }
        if (job.kind === 'check') {
          results.set(job, { ok: true, event_id: outcome.event_id, stream_ordering: 0 });
          continue;
        }
        plans.push(outcome);
        this.dag.planned.set(outcome.event_id, outcome);
        if (txnKey) byTxn.set(txnKey, job);
      }

      // The one await: Ed25519 over WebCrypto, all events of the batch at once.
      const { serverName, signingKey } = this.config;
      await Promise.all(
        plans.map(async (p) => {
          const signature = await signBytes(p.signingInput, serverName, signingKey.keyId, signingKey.seed, webCryptoEd25519);
          setOwn(p.pdu, 'signatures', { [serverName]: { [signingKey.keyId]: signature } });
        }),
      );

      const orderings = this.ctx.storage.transactionSync(() => {
        this.outbox.flushDelivered();
        return plans.map((p) => writeLocal(this.dag, p));
      });
      plans.forEach((p, i) => results.set(p.request as LocalJob, { ok: true, event_id: p.event_id, stream_ordering: orderings[i]! }));
    } catch (e) {
      // Nothing of the batch was written (the transaction rolled back): reload and report.
      console.error('room: writing a batch failed:', e);
      this.dag.load();
      for (const p of plans) results.set(p.request as LocalJob, fail('M_UNKNOWN', 'the event could not be stored'));
    } finally {
      this.dag.planned.clear();
    }
    for (const [retry, first] of retries) results.set(retry, results.get(first) ?? fail('M_UNKNOWN', 'the event was not processed'));
    for (const job of jobs) job.done(results.get(job) ?? fail('M_UNKNOWN', 'the event was not processed'));
  }
}

/** A stored event for RPC; a redacted one carries its redaction (spec `UnsignedData.redacted_because`). */
function toRecord(e: StoredEvent, store: RoomStore): EventRecord {
  const redaction = e.redacted_by ? store.getEvent(e.redacted_by) : undefined;
  return {
    event_id: e.event_id, stream_ordering: e.stream_ordering, pdu: e.pdu, status: e.status, rejection: e.rejection, redacted_by: e.redacted_by,
    ...(redaction ? { redacted_because: { event_id: redaction.event_id, pdu: redaction.pdu } } : {}),
  };
}
