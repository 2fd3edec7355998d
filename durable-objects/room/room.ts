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
import { FederationOutbox } from './federation-outbox';
import { receivePdu } from './receive';
import type { ReceiptCommand, RoomResult, TypingInput } from './api';
import type { PresenceStatus } from '../user/api';
import { RoomEphemeral } from './ephemeral';
import { leaveWithoutJoin, membershipAt, strippedState, syncRoom } from './sync';
import { StateGroups, stateKey as stateKeyOf, toTriples } from './state';
import { RoomStore, type StoredEvent } from './store';
import { thirdPartyVerdicts } from './third-party';
import { timelinePage } from './timeline';
import { membershipOf, StateLookup, VisibilityFilter } from './visibility';
import { sharedMembersChange } from './shared-members';
import { heroesNeeded, lazySyncMembers, sendersMembers, SyncSummaries } from './members';
import type { HistoryAccess } from './api';
import type { EventContext, EventContextQuery, RelationsPage, RelationsQuery, ThreadsPage, ThreadsQuery } from './api';
import { relationsPage, threadsPage } from './reads';
import type { RoomSummary } from './api';
import { roomSummary } from './summary';
import type { JoinFromResponseInput, MakeMembershipInput, MakeMembershipResult, SendJoinResult, SendKnockResult } from './api';
import { joinFromResponse, makeMembershipProblem, membershipTemplate, sendJoinResponse, sendMembershipProblem, type FederatedMembership } from './federation-join';
import type { ServerAccess } from './api';
import { authChainIds, backfill, inDag, missingEvents, pdusOf, serverAccess } from './federation-reads';
import type { InviteDraftResult } from './api';
import { inviteRoomState } from './federation-invite';
import { ServerVisibility } from './federation-reads';
import { EventIndexWriter } from './event-index';
import { RemoteMembers } from './remote-members';
import type { PrevStatesFill } from './api';
import { receiveWithPrevStates } from './missing-state';

/** Local events planned and committed together at most. */
const MAX_BATCH = 128;

/** `check`: plan an event as if sending it, to learn whether the auth rules allow it; nothing is written. */
type LocalJob = (LocalRequest | { kind: 'check'; input: SendInput; planned?: (pdu: JsonObject) => void }) & { done: (r: SendResult) => void };
/** `join_response`: start the room from a send_join response (federation-join.ts); like `ingest`, no await. */
type Job =
  | LocalJob
  | { kind: 'ingest'; pdu: JsonObject; thirdParty: ThirdPartyVerified; fill?: PrevStatesFill; done: (r: IngestResult) => void }
  | { kind: 'join_response'; input: JoinFromResponseInput; done: (r: SendResult) => void };

export class Room extends DurableObject<HomeserverBindings> implements RoomApi {
  private readonly record = (e: StoredEvent): EventRecord => toRecord(e, this.store);
  private readonly store: RoomStore;
  private readonly dag: RoomDag;
  private readonly config: HomeserverConfig;
  private readonly queue: Job[] = [];
  private pumping = false;
  private readonly outbox: Outbox;
  /** Local events, typing and receipts for the other servers in the room. */
  private readonly federationOutbox: FederationOutbox;
  /** Typing (in memory), receipts and presence; created with the schema. */
  private ephemeral!: RoomEphemeral;
  /** /sync room summaries (members.ts), made on first use. */
  private summaries: SyncSummaries | undefined;
  /** The event → room index, written for rooms shared with other servers (event-index.ts). */
  private readonly eventIndex: EventIndexWriter;
  private readonly remoteMembers: RemoteMembers; // their servers' index of the rooms they share with us

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
    this.federationOutbox = new FederationOutbox({
      store: this.store,
      dag: this.dag,
      remoteServers: () => env.REMOTE_SERVER,
      transaction: (fn) => ctx.storage.transactionSync(fn),
      scheduleAlarm: (at) => this.scheduleAlarm(at),
    });
    this.eventIndex = new EventIndexWriter(() => env.EVENT_INDEX);
    this.remoteMembers = new RemoteMembers({ store: this.store, dag: this.dag, remoteServers: () => env.REMOTE_SERVER, transaction: (fn) => ctx.storage.transactionSync(fn), scheduleAlarm: (at) => this.scheduleAlarm(at) });
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.transactionSync(() => this.store.migrate());
      this.dag.load();
      this.ephemeral = new RoomEphemeral(this.store, this.dag, (fn) => ctx.storage.transactionSync(fn), (userId, edu) => this.federationOutbox.queueLocalEdu(userId, edu));
      // Members may still show who was typing before the restart: clear it from the alarm.
      if (this.ephemeral.staleTyping) await ctx.storage.setAlarm(Date.now());
      // Hand-overs to remote servers that a stop interrupted resume from the alarm.
      else if (this.federationOutbox.waiting() || this.remoteMembers.waiting()) await ctx.storage.setAlarm(Date.now());
    });
  }

  // ---- RPC: commands ------------------------------------------------------------------------

  /** Create the room: its `m.room.create` event, authored by `creator`. */
  performCreate(input: CreateRoomInput): Promise<SendResult> {
    return new Promise((done) => this.enqueue({ kind: 'create', input, done }));
  }

  /** Create, sign, authorise and persist one local event. */
  performSend(input: SendInput): Promise<SendResult> {
    if (this.dag.rules && thirdPartySigned({ type: input.type, content: input.content })) return this.sendWithThirdParty(input);
    return new Promise((done) => this.enqueue({ kind: 'send', input, done }));
  }

  /**
   * A member event with `content.third_party_invite` (federation `exchange_third_party_invite`):
   * its signed block's Ed25519 verdicts need WebCrypto, so they are computed before the queue,
   * as for received PDUs. They do not depend on the event ID, which is only known once planned.
   */
  private async sendWithThirdParty(input: SendInput): Promise<SendResult> {
    const draft: JsonObject = { type: input.type, sender: input.sender, content: input.content, ...(input.state_key !== undefined ? { state_key: input.state_key } : {}) };
    const third_party_keys = (await thirdPartyVerdicts(this.store, this.dag.event, draft, ''))[''] ?? [];
    return new Promise((done) => this.enqueue({ kind: 'send', input, third_party_keys, done }));
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
  async ingestPdu(pdu: JsonObject, fill?: PrevStatesFill): Promise<IngestResult> {
    // Third-party-invite signatures need WebCrypto: verify before joining the queue.
    let thirdParty: ThirdPartyVerified = {};
    if (this.dag.rules && thirdPartySigned(pdu)) {
      try {
        thirdParty = await thirdPartyVerdicts(this.store, this.dag.event, pdu, computeEventId(pdu, this.dag.rules));
      } catch {
        // A PDU whose ID cannot be computed is dropped by the checks in the queue.
      }
    }
    return new Promise((done) => this.enqueue({ kind: 'ingest', pdu, thirdParty, fill, done }));
  }

  // ---- RPC: ephemeral data (typing, receipts; see ephemeral.ts) ------------------------------

  async performTyping(input: TypingInput): Promise<RoomResult<object>> {
    const denied = this.requireJoined(input.user_id);
    if (denied) return denied;
    const expiresAt = Date.now() + Math.max(input.timeout_ms, 0);
    if (this.ephemeral.setTyping(input.user_id, input.typing, expiresAt)) {
      this.outbox.schedule();
      this.federationOutbox.schedule();
    }
    const next = this.ephemeral.nextExpiry();
    if (next !== undefined) await this.scheduleAlarm(next);
    return { ok: true };
  }

  async performReceipt(input: ReceiptCommand): Promise<RoomResult<object>> {
    const denied = this.requireJoined(input.user_id);
    if (denied) return denied;
    const e = this.store.getEvent(input.event_id);
    if (!e || e.status !== 'accepted') return fail('M_NOT_FOUND', `Unknown event ${input.event_id}`);
    if (this.ephemeral.putReceipt({ ...input, ts: input.ts ?? Date.now() }, e.stream_ordering)) {
      this.outbox.schedule();
      this.federationOutbox.schedule();
    }
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
    if (!states) {
      // A join from send_join: its prev events are not here, its state before was given.
      const given = this.store.stateBeforeGroup(eventId);
      return given === undefined ? undefined : toTriples(this.dag.groups.load(given));
    }
    return toTriples(resolve(this.dag.view, states));
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

  async getLocalJoinedMembers(): Promise<string[]> { return [...this.dag.localJoinedMembers()]; }
  async getUnknownEventIds(eventIds: string[]): Promise<string[]> { const known = this.store.knownEventIds(eventIds); return eventIds.filter((id) => !known.has(id)); }

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
      return t === undefined ? this.record(e) : { ...this.record(e), transaction_id: t };
    };
    // /sync `device_lists` (shared-members.ts): from the position the user had, even under `full_state`.
    const shared = r.shared_members_since === undefined ? {} : { shared_members: sharedMembersChange(this.store, this.dag.groups, r.user_id, r.shared_members_since, r.to) };
    return {
      events: events.map(withTxn), limited: slice.limited, prev_batch: slice.prev_batch, state: state.map(this.record), ...ephemeral, ...(summary ? { summary } : {}), ...shared,
    };
  }

  async queryJoined(userIds: string[]): Promise<string[]> {
    const state = this.dag.current.state;
    return userIds.filter((u) => {
      const id = state.get(stateKeyOf('m.room.member', u));
      return id !== undefined && membershipOf(this.dag.event(id)?.content) === 'join';
    });
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

  // ---- RPC: joining, leaving and knocking over federation (see federation-join.ts) ----------

  getMakeJoinTemplate(input: MakeMembershipInput): Promise<MakeMembershipResult> {
    return this.makeMembershipTemplate('join', input);
  }

  getMakeLeaveTemplate(input: MakeMembershipInput): Promise<MakeMembershipResult> {
    return this.makeMembershipTemplate('leave', input);
  }

  getMakeKnockTemplate(input: MakeMembershipInput): Promise<MakeMembershipResult> {
    return this.makeMembershipTemplate('knock', input);
  }

  /** The template is planned in the write queue like a send (so checked against the state a send would see), then dropped. */
  private async makeMembershipTemplate(membership: FederatedMembership, input: MakeMembershipInput): Promise<MakeMembershipResult> {
    const { rules } = this.dag;
    if (!rules) return fail('M_NOT_FOUND', 'Unknown room.');
    const problem = makeMembershipProblem(rules, membership, input.user_id, input.origin, input.supported_versions);
    if (problem) return problem;
    let event: JsonObject | undefined;
    const send: SendInput = { type: 'm.room.member', sender: input.user_id, state_key: input.user_id, content: { membership } };
    const r = await new Promise<SendResult>((done) => this.enqueue({ kind: 'check', input: send, planned: (pdu) => (event = pdu), done }));
    if (!r.ok) return r;
    return { ok: true, room_version: rules.room_version, event: membershipTemplate(event!, this.config.serverName) };
  }

  async performSendJoin(pdu: JsonObject, origin: string): Promise<SendJoinResult> {
    const joined = await this.sendMembership('join', pdu, origin);
    if (!joined.ok) return joined;
    const before = await this.getStateBefore(joined.event_id);
    if (!before) return fail('M_UNKNOWN', 'the state before the join is unknown');
    const stored = this.store.getEvent(joined.event_id)!;
    return { ok: true, ...sendJoinResponse(this.dag, new Map(before.map(([t, k, id]) => [stateKeyOf(t, k), id]))), event: stored.pdu };
  }

  async performSendLeave(pdu: JsonObject, origin: string): Promise<RoomResult<object>> {
    const left = await this.sendMembership('leave', pdu, origin);
    return left.ok ? { ok: true } : left;
  }

  async performSendKnock(pdu: JsonObject, origin: string): Promise<SendKnockResult> {
    const knocked = await this.sendMembership('knock', pdu, origin);
    if (!knocked.ok) return knocked;
    return { ok: true, knock_room_state: strippedState(this.store, this.dag.current.state, pdu.sender as string) };
  }

  /**
   * A send_* PDU: the endpoint's own checks, then the receipt checks. Only an accepted event
   * (now or before, for a retried request) succeeds: a rejected or soft-failed one is refused.
   */
  private async sendMembership(membership: FederatedMembership, pdu: JsonObject, origin: string): Promise<RoomResult<{ event_id: string }>> {
    if (!this.dag.roomId) return fail('M_NOT_FOUND', 'Unknown room.');
    const problem = sendMembershipProblem(pdu, membership, origin, this.dag.roomId);
    if (problem) return fail('M_BAD_JSON', problem);
    const r = await this.ingestPdu(pdu);
    if (r.status === 'accepted') {
      // Spec "Joining Rooms" (and leaving, knocking): the resident server passes the event on
      // to the other servers in the room; the sender's server has it. (Queued just after the
      // event's own transaction: a crash in between loses this hand-over, not the event.)
      const stored = this.store.getEvent(r.event_id);
      if (stored) {
        const destinations = this.federationOutbox.serversIn(this.dag.current.state).filter((s) => s !== origin);
        this.ctx.storage.transactionSync(() => this.federationOutbox.queuePdu(stored.pdu, destinations));
        this.federationOutbox.schedule();
      }
      return { ok: true, event_id: r.event_id };
    }
    if (r.status === 'duplicate') {
      const e = this.store.getEvent(r.event_id);
      if (e?.status === 'accepted') return { ok: true, event_id: r.event_id };
      return fail('M_FORBIDDEN', `the ${membership} event was not accepted (${e?.status ?? 'unknown'})`);
    }
    if (r.status === 'rejected' || r.status === 'soft_failed') return fail('M_FORBIDDEN', `the ${membership} event fails the auth rules: ${r.reason ?? r.status}`);
    if (r.status === 'missing') return fail('M_BAD_JSON', `the ${membership} event refers to unknown events: ${r.missing.join(', ')}`);
    return fail('M_BAD_JSON', r.reason ?? r.status);
  }

  /** Joining side: start the room from a send_join response (see federation-join.ts). */
  performJoinFromResponse(input: JoinFromResponseInput): Promise<SendResult> {
    return new Promise((done) => this.enqueue({ kind: 'join_response', input, done }));
  }

  // ---- RPC: the DAG as other servers read it (see federation-reads.ts) -----------------------

  async queryServerAccess(serverName: string): Promise<ServerAccess | undefined> {
    return this.dag.roomId ? serverAccess(this.dag, serverName) : undefined;
  }

  async getStatePdus(eventId: string): Promise<{ pdus: JsonObject[]; auth_chain: JsonObject[] } | undefined> {
    const ids = await this.getStateIds(eventId);
    return ids && { pdus: pdusOf(this.dag, ids.pdu_ids), auth_chain: pdusOf(this.dag, ids.auth_chain_ids) };
  }

  /** Spec: "The fully resolved state of the room, prior to considering any state changes induced by the requested event". */
  async getStateIds(eventId: string): Promise<{ pdu_ids: string[]; auth_chain_ids: string[] } | undefined> {
    if (!inDag(this.store.getEvent(eventId))) return undefined;
    const before = await this.getStateBefore(eventId);
    if (!before) return undefined;
    const pduIds = before.map(([, , id]) => id);
    return { pdu_ids: pduIds, auth_chain_ids: authChainIds(this.dag, pduIds) };
  }

  async getAuthChainPdus(eventId: string): Promise<JsonObject[] | undefined> {
    if (!inDag(this.store.getEvent(eventId))) return undefined;
    return pdusOf(this.dag, authChainIds(this.dag, [eventId]));
  }

  async getBackfill(eventIds: string[], limit: number, serverName: string): Promise<JsonObject[]> {
    return this.dag.rules ? backfill(this.dag, serverName, eventIds, limit) : [];
  }

  async getMissingEvents(query: { earliest_events: string[]; latest_events: string[]; limit: number; min_depth: number }, serverName: string): Promise<JsonObject[]> {
    return this.dag.rules ? missingEvents(this.dag, serverName, query) : [];
  }

  // ---- RPC: inviting users of other servers; single events for servers (federation-invite.ts)

  /** Planned in the write queue like a send (checked against the state a send would see), then dropped. */
  async getInviteDraft(input: SendInput): Promise<InviteDraftResult> {
    const { rules } = this.dag;
    if (!rules) return fail('M_NOT_FOUND', 'Unknown room.');
    if (input.type !== 'm.room.member' || input.content.membership !== 'invite') return fail('M_BAD_JSON', 'not an invite');
    let event: JsonObject | undefined;
    const r = await new Promise<SendResult>((done) => this.enqueue({ kind: 'check', input, planned: (pdu) => (event = pdu), done }));
    if (!r.ok) return r;
    return { ok: true, room_version: rules.room_version, event: event!, invite_room_state: inviteRoomState(this.dag) };
  }

  async performCommitInvite(pdu: JsonObject): Promise<RoomResult<{ event_id: string }>> {
    const r = await this.ingestPdu(pdu);
    const stored = r.event_id === undefined ? undefined : this.store.getEvent(r.event_id);
    if (!stored || stored.status !== 'accepted') {
      return fail('M_FORBIDDEN', `the invite was not accepted into the room: ${'reason' in r && r.reason ? r.reason : r.status}`);
    }
    if (r.status === 'accepted') {
      // Spec "Inviting to a room": the inviting server sends the countersigned event to the
      // servers in the room. It came in through the receipt checks, not local.ts, so the
      // federation outbox has not queued it. (Queued just after the event's own transaction.)
      const destinations = this.federationOutbox.serversIn(this.dag.current.state);
      this.ctx.storage.transactionSync(() => this.federationOutbox.queuePdu(stored.pdu, destinations));
      this.federationOutbox.schedule();
    }
    return { ok: true, event_id: stored.event_id };
  }

  async getEventForServer(eventId: string, serverName: string): Promise<JsonObject | undefined> {
    const e = this.store.getEvent(eventId);
    return e && this.dag.rules && new ServerVisibility(this.dag, serverName).sees(e) ? e.pdu : undefined;
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
          const received = this.receive(next.pdu, next.thirdParty, next.fill);
          // Received PDUs are of a room shared with their server (event-index.ts).
          if ((received.status === 'accepted' || received.status === 'soft_failed') && this.dag.roomId) this.eventIndex.note(this.dag.roomId, [received.event_id]);
          next.done(received);
          this.outbox.schedule();
          continue;
        }
        if (next.kind === 'join_response') {
          this.queue.shift();
          const joined = this.joinFromResponse(next.input);
          if (joined.ok) this.eventIndex.note(next.input.room_id, [joined.event_id]);
          next.done(joined);
          this.outbox.schedule();
          continue;
        }
        let n = 0;
        while (n < this.queue.length && n < MAX_BATCH && this.queue[n]!.kind !== 'ingest' && this.queue[n]!.kind !== 'join_response') n++;
        await this.runLocalBatch(this.queue.splice(0, n) as LocalJob[]);
        this.outbox.schedule();
        this.federationOutbox.schedule();
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Outbox retries, and typing that expired (or went stale with a restart). */
  override async alarm(): Promise<void> {
    this.ephemeral.expireTyping(Date.now());
    await Promise.all([this.outbox.drain(), this.federationOutbox.drain(), this.remoteMembers.drain()]);
    const next = this.ephemeral.nextExpiry();
    if (next !== undefined) await this.scheduleAlarm(next);
  }

  private joinFromResponse(input: JoinFromResponseInput): SendResult {
    try {
      return joinFromResponse(this.dag, input, (fn) => this.ctx.storage.transactionSync(fn));
    } catch (e) {
      console.error('room: starting from a send_join response failed:', e);
      this.dag.load();
      return fail('M_UNKNOWN', `could not process the send_join response: ${(e as Error).message}`);
    }
  }

  private receive(pdu: JsonObject, thirdParty: ThirdPartyVerified, fill?: PrevStatesFill): IngestResult {
    try {
      const transaction = <T>(fn: () => T): T => this.ctx.storage.transactionSync(fn);
      return fill ? receiveWithPrevStates(this.dag, pdu, thirdParty, fill, transaction) : receivePdu(this.dag, pdu, thirdParty, transaction);
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
        const txnKey = send && JSON.stringify([send.sender, send.txn.device_id, send.txn.endpoint, send.txn.txn_id]);
        if (send && txnKey) {
          // Spec: a retried transaction ID returns the original event, and sends nothing new.
          const existing = this.store.getTransaction(send.sender, send.txn.device_id, send.txn.endpoint, send.txn.txn_id);
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
          job.planned?.(outcome.pdu);
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
        return plans.map((p) => {
          const ordering = writeLocal(this.dag, p);
          this.federationOutbox.queueLocalEvent(p.pdu, p.before, p.after);
          return ordering;
        });
      });
      plans.forEach((p, i) => results.set(p.request as LocalJob, { ok: true, event_id: p.event_id, stream_ordering: orderings[i]! }));
      // Events other servers hear of (those of rooms with remote members) go into the event index.
      const shared = plans.filter((p) => this.federationOutbox.serversIn(p.before).length > 0 || this.federationOutbox.serversIn(p.after).length > 0);
      if (shared.length > 0 && this.dag.roomId) this.eventIndex.note(this.dag.roomId, shared.map((p) => p.event_id));
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
