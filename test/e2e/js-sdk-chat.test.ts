/**
 * The Client-Server issue's matrix-js-sdk scenario against `npm start` over HTTP: two users
 * register through the SDK, one creates a room and invites the other, who joins; they exchange
 * 200 messages (some concurrently) with edits (`m.replace`), redactions, typing notifications and
 * read receipts; the second client then pauses while 60 more messages arrive, resumes from its
 * stored sync token with a small timeline limit (so the sync is `limited`) and fills the gap with
 * /messages. Each client must hold every event exactly once, in the server's order (as
 * `/messages?dir=b` gives it) back to the room's creation, edits applied and redactions stripped;
 * a send retried with the same transaction ID gives the same event ID, and each client gets its
 * own events back with their transaction ID (which is how the SDK retires its local echoes).
 *
 * Besides what the SDK shows, a recording `fetch` keeps what the server sent each client, so a
 * duplicate or a gap is caught even where the SDK would hide it (it drops an event it already
 * has), and checks every /sync and /messages response the SDK gets against the spec's schema.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as sdk from 'matrix-js-sdk';
import { clientTimeline, registerClient, startSyncing, until } from './js-sdk-helpers';
import { specCheckedFetch } from './spec-fetch';
import { specClient, useInstance, type SpecBody } from './spec-client';

const instance = useInstance();
const { request } = specClient(instance);

const C = '/_matrix/client/v3';
const enc = encodeURIComponent;
const { BACKWARDS } = sdk.EventTimeline;

const ROUNDS = 10;
const PER_ROUND = 20;
/** Messages sent while the second client is stopped: more than its catch-up timeline limit. */
const GAP = 60;
/** Sync timeline limits: roomy while both run (no gaps), small for the catch-up after the pause. */
const LIVE_LIMIT = 100;
const CATCH_UP_LIMIT = 10;

/**
 * A memory store that, like the SDK's persistent stores, gives its sync token back at start, so
 * `startClient` after `stopClient` resumes with an incremental sync instead of an initial one.
 */
class ResumableStore extends sdk.MemoryStore {
  override getSavedSyncToken(): Promise<string | null> {
    return Promise.resolve(this.getSyncToken());
  }
}

/**
 * One /sync response as the server sent it: per joined room, the timeline's event IDs, and the
 * `unsigned.transaction_id` of those that carry one.
 */
interface SyncResponse {
  since: string | null;
  next_batch: string;
  join: Record<string, { events: string[]; limited: boolean; prev_batch?: string; txnIds: Record<string, string> }>;
}
interface SyncBody {
  next_batch: string;
  rooms?: {
    join?: Record<string, { timeline?: { events?: { event_id: string; unsigned?: { transaction_id?: string } }[]; limited?: boolean; prev_batch?: string } }>;
  };
}
interface Traffic {
  syncs: SyncResponse[];
  /** The `from` of every /messages request. */
  messagesFrom: string[];
  /** Responses the SDK got that the spec's schema rejects. */
  schemaErrors: string[];
}

/** The reads the SDK makes most, whose responses are checked against the spec's schema. */
const CHECKED_READS = ['/_matrix/client/v3/sync', '/_matrix/client/v3/rooms/{roomId}/messages'];

/** A `fetch` for the SDK that records its /sync responses and /messages requests and checks both responses against the spec. */
const recordingFetch = (traffic: Traffic): typeof fetch =>
  specCheckedFetch({
    schemaErrors: traffic.schemaErrors,
    only: CHECKED_READS,
    onRequest: (_, url) => {
      if (url.pathname.endsWith('/messages')) traffic.messagesFrom.push(url.searchParams.get('from') ?? '');
    },
    onExchange: ({ url, template, status, body }) => {
      if (template === CHECKED_READS[0] && status === 200) traffic.syncs.push(syncResponse(url.searchParams.get('since'), body as SyncBody));
    },
  });

function syncResponse(since: string | null, body: SyncBody): SyncResponse {
  const join: SyncResponse['join'] = {};
  for (const [roomId, room] of Object.entries(body.rooms?.join ?? {})) {
    const t = room.timeline ?? {};
    const txnIds: Record<string, string> = {};
    for (const e of t.events ?? []) if (e.unsigned?.transaction_id !== undefined) txnIds[e.event_id] = e.unsigned.transaction_id;
    join[roomId] = { events: (t.events ?? []).map((e) => e.event_id), limited: t.limited === true, ...(t.prev_batch ? { prev_batch: t.prev_batch } : {}), txnIds };
  }
  return { since, next_batch: body.next_batch, join };
}

/**
 * The responses the client went on from: a response counts if a later request resumed from its
 * `next_batch` (or it is the last). One cut off by `stopClient` is fetched again from the
 * same `since`, and only that second copy counts.
 */
function consumedSyncs(traffic: Traffic): SyncResponse[] {
  const all = traffic.syncs;
  return all.filter((r, i) => i === all.length - 1 || all.slice(i + 1).some((later) => later.since === r.next_batch));
}

/** The room's timeline event IDs over the consumed syncs, in the order the server sent them. */
const syncedIds = (traffic: Traffic, roomId: string) => consumedSyncs(traffic).flatMap((s) => s.join[roomId]?.events ?? []);

interface Participant {
  name: string;
  client: sdk.MatrixClient;
  traffic: Traffic;
  /** The event IDs in the SDK's live timeline of the test's room, in the order it added them. */
  readonly live: string[];
}

function timelineFilter(userId: string, limit: number): sdk.Filter {
  const filter = new sdk.Filter(userId);
  filter.setDefinition({ room: { timeline: { limit } } });
  return filter;
}

async function participant(name: string): Promise<Participant> {
  const traffic: Traffic = { syncs: [], messagesFrom: [], schemaErrors: [] };
  const client = await registerClient(instance().base, name, { store: new ResumableStore(), timelineSupport: true, fetchFn: recordingFetch(traffic) });
  const liveByRoom = new Map<string, string[]>();
  // Listening from the start: the new room can reach the creator's sync before createRoom returns.
  client.on(sdk.RoomEvent.Timeline, (event, room, toStartOfTimeline, removed, data) => {
    if (!room) return;
    const ids = liveByRoom.get(room.roomId) ?? [];
    // The SDK takes an event out (and puts it back at the end) when it matches a remote echo late.
    if (removed) liveByRoom.set(room.roomId, ids.filter((id) => id !== event.getId()));
    else if (!toStartOfTimeline && data.liveEvent) liveByRoom.set(room.roomId, [...ids, event.getId()!]);
  });
  return {
    name,
    client,
    traffic,
    get live() {
      return liveByRoom.get(roomId) ?? [];
    },
  };
}

/** Detached: local echoes stay out of the timeline, which then shows the server's order. */
const startOptions = (p: Participant, limit: number): sdk.IStartClientOpts => ({
  initialSyncLimit: 20,
  pendingEventOrdering: sdk.PendingEventOrdering.Detached,
  filter: timelineFilter(p.client.getUserId()!, limit),
});

/** The room's whole timeline as the server orders it: `/messages?dir=b` back to the start. */
async function serverTimeline(token: string): Promise<SpecBody[]> {
  const newestFirst: SpecBody[] = [];
  let from: string | undefined;
  for (let page = 0; page < 50; page++) {
    const path = `${C}/rooms/${enc(roomId)}/messages?dir=b&limit=100${from ? `&from=${from}` : ''}`;
    const body = await request('GET', `${C}/rooms/{roomId}/messages`, { path, token, expect: 200 });
    newestFirst.push(...body.chunk);
    if (body.end === undefined) return newestFirst.reverse();
    from = body.end;
  }
  throw new Error('/messages did not reach the start of the room in 50 pages');
}

/** The members of `ids` in the order `order` has them. */
const inOrderOf = (order: readonly string[], ids: Iterable<string>) => {
  const wanted = new Set(ids);
  return order.filter((id) => wanted.has(id));
};

const duplicates = (ids: readonly string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);

/** A message one of the users sent, and what became of it. */
interface Sent {
  id: string;
  body: string;
  edit?: { id: string; body: string };
  redaction?: string;
}

let roomId = '';
/** The server's timeline at the end, as `/messages` gives it. */
let serverEvents: SpecBody[] = [];
let alice: Participant;
let bob: Participant;
const sent: Sent[] = [];
/** Who sent each event, with which transaction ID (the SDK's sends get explicit ones). */
const sentBy = new Map<string, { p: Participant; txnId: string }>();
let txnCounter = 0;
const nextTxn = (p: Participant) => `${p.name}-txn-${++txnCounter}`;

/** Every event the test sent into the room (messages, edits, redactions). */
const sentIds = () => sent.flatMap((s) => [s.id, ...(s.edit ? [s.edit.id] : []), ...(s.redaction ? [s.redaction] : [])]);

const has = (p: Participant, ids: readonly string[]) => {
  const room = p.client.getRoom(roomId);
  return room !== null && ids.every((id) => room.findEventById(id) !== undefined);
};

async function say(p: Participant, body: string, edit: boolean): Promise<Sent> {
  let txnId = nextTxn(p);
  const { event_id: id } = await p.client.sendTextMessage(roomId, body, txnId);
  sentBy.set(id, { p, txnId });
  const message: Sent = { id, body };
  sent.push(message);
  if (edit) {
    // Spec "Event replacements": the new content in `m.new_content`, a fallback in `body`.
    const newBody = `${body} (edited)`;
    txnId = nextTxn(p);
    const r = await p.client.sendEvent(
      roomId,
      sdk.EventType.RoomMessage,
      {
        msgtype: sdk.MsgType.Text,
        body: `* ${newBody}`,
        'm.new_content': { msgtype: sdk.MsgType.Text, body: newBody },
        'm.relates_to': { rel_type: sdk.RelationType.Replace, event_id: id },
      },
      txnId,
    );
    sentBy.set(r.event_id, { p, txnId });
    message.edit = { id: r.event_id, body: newBody };
  }
  return message;
}

async function redact(p: Participant, message: Sent): Promise<void> {
  const txnId = nextTxn(p);
  message.redaction = (await p.client.redactEvent(roomId, message.id, txnId)).event_id;
  sentBy.set(message.redaction, { p, txnId });
}

/** Which user sends the `j`th message of a sequential round: runs of 1, 2, 3, … alternating. */
function runSender(j: number): 0 | 1 {
  let run = 0;
  for (let start = 0; start <= j; run++) start += run + 1;
  return ((run - 1) % 2) as 0 | 1;
}

const typing = (watcher: Participant, typer: Participant) => watcher.client.getRoom(roomId)?.getMember(typer.client.getUserId()!)?.typing;

/** The latest message from `from` in `reader`'s live timeline. */
function lastMessageFrom(reader: Participant, from: Participant): sdk.MatrixEvent {
  const events = reader.client.getRoom(roomId)!.getLiveTimeline().getEvents();
  const found = events.filter((e) => e.getType() === sdk.EventType.RoomMessage && e.getSender() === from.client.getUserId() && !e.getRelation()).pop();
  if (!found) throw new Error(`${reader.name} has no message from ${from.name}`);
  return found;
}

/** `reader`'s own receipt (not one the SDK infers from their messages) as `watcher` sees it. */
const receiptAt = (watcher: Participant, reader: Participant) =>
  watcher.client.getRoom(roomId)?.getReadReceiptForUserId(reader.client.getUserId()!, true, sdk.ReceiptType.Read)?.eventId;

/** Each of `ids` once in `view`, in the order `order` has them. */
function expectOnceInOrder(view: readonly string[], order: readonly string[], ids: readonly string[], who: string): void {
  const inView = view.filter((id) => ids.includes(id));
  expect(duplicates(inView), `${who}: events seen twice`).toEqual([]);
  expect(inView, `${who}: events missing or out of order`).toEqual(inOrderOf(order, ids));
}

afterAll(() => {
  for (const p of [alice, bob]) p?.client.stopClient();
});

describe('matrix-js-sdk chat: 200 messages, edits, redactions, typing, receipts, a limited sync', () => {
  it('two users register through the SDK; one creates a room, invites the other, who joins', { timeout: 30_000 }, async () => {
    const stamp = Date.now().toString(36);
    alice = await participant(`chatalice${stamp}`);
    bob = await participant(`chatbob${stamp}`);
    await Promise.all([startSyncing(alice.client, startOptions(alice, LIVE_LIMIT)), startSyncing(bob.client, startOptions(bob, LIVE_LIMIT))]);

    ({ room_id: roomId } = await alice.client.createRoom({ name: 'js-sdk chat', preset: sdk.Preset.PrivateChat }));
    await alice.client.invite(roomId, bob.client.getUserId()!);
    await until(() => bob.client.getRoom(roomId)?.getMyMembership() === sdk.KnownMembership.Invite, 'the invite at bob');
    await bob.client.joinRoom(roomId);
    await until(() => alice.client.getRoom(roomId)?.getMember(bob.client.getUserId()!)?.membership === sdk.KnownMembership.Join, "bob's join at alice");
    await until(() => bob.client.getRoom(roomId)?.getMyMembership() === sdk.KnownMembership.Join, "bob's join at bob");
  });

  it('200 messages, edited and redacted, with typing and receipts: both live timelines hold each event once, in order', { timeout: 60_000 }, async () => {
    const people = [alice, bob] as const;
    for (let round = 0; round < ROUNDS; round++) {
      // Typing (spec "Typing Notifications"): one user starts, the other sees it before the round.
      const typer = people[round % 2]!;
      const watcher = people[(round + 1) % 2]!;
      await typer.client.sendTyping(roomId, true, 30_000);
      await until(() => typing(watcher, typer) === true, `${typer.name} typing at ${watcher.name} (round ${round})`);

      const base = round * PER_ROUND;
      const message = (j: number) => {
        const i = base + j;
        const p = people[round % 2 === 0 ? j % 2 : runSender(j)]!;
        return () => say(p, `${p.name} ${i}`, i % 20 === 4 || i % 20 === 9);
      };
      const js = Array.from({ length: PER_ROUND }, (_, j) => j);
      let messages: Sent[];
      if (round % 2 === 0) {
        // Both users at once, each sending its messages one after another.
        const [mine, theirs] = await Promise.all(
          [0, 1].map(async (who) => {
            const out: [number, Sent][] = [];
            for (const j of js.filter((j) => j % 2 === who)) out.push([j, await message(j)()]);
            return out;
          }),
        );
        messages = [...mine!, ...theirs!].sort((a, b) => a[0] - b[0]).map(([, m]) => m);
      } else {
        messages = [];
        for (const j of js) messages.push(await message(j)());
      }
      // Redactions: a user's own message (…2) and, as the room's creator, bob's (…7).
      for (const [j, m] of messages.entries()) {
        const i = base + j;
        if (i % 20 === 2) await redact(people[round % 2 === 0 ? j % 2 : runSender(j)]!, m);
        if (i % 20 === 7) await redact(alice, m);
      }

      const ids = sentIds();
      await Promise.all(people.map((p) => until(() => has(p, ids), `round ${round} at ${p.name}`)));
      await typer.client.sendTyping(roomId, false, 0);
      await until(() => typing(watcher, typer) === false, `${typer.name} stopped typing at ${watcher.name} (round ${round})`);

      // Receipts (spec "Receipts"): each reads the other's latest message; the other sees it.
      const aliceRead = lastMessageFrom(alice, bob);
      const bobRead = lastMessageFrom(bob, alice);
      await Promise.all([alice.client.sendReadReceipt(aliceRead), bob.client.sendReadReceipt(bobRead)]);
      await until(() => receiptAt(bob, alice) === aliceRead.getId(), `alice's receipt at bob (round ${round})`);
      await until(() => receiptAt(alice, bob) === bobRead.getId(), `bob's receipt at alice (round ${round})`);
    }
    expect(sent).toHaveLength(ROUNDS * PER_ROUND);
    expect(sent.filter((m) => m.edit)).toHaveLength(ROUNDS * 2);
    expect(sent.filter((m) => m.redaction)).toHaveLength(ROUNDS * 2);

    const server = (await serverTimeline(alice.client.getAccessToken()!)).map((e) => e.event_id as string);
    for (const p of people) {
      const synced = consumedSyncs(p.traffic);
      expect(synced.filter((s) => s.join[roomId]?.limited), `${p.name}: a limited sync while both run`).toEqual([]);
      // The server sent each event once, and the SDK put each in the live timeline once, in order.
      expect(syncedIds(p.traffic, roomId), `${p.name}: what /sync sent`).toEqual(server.slice(server.indexOf(p.live[0]!)));
      expect(p.live, `${p.name}: the live timeline`).toEqual(server.slice(server.indexOf(p.live[0]!)));
      expectOnceInOrder(p.live, server, sentIds(), p.name);
    }
    expect(alice.live[0], "alice's live timeline starts at the room's creation").toBe(server[0]);
  });

  it('a send retried with the same transaction ID gives the same event ID', { timeout: 20_000 }, async () => {
    const txnId = `retry-${Date.now().toString(36)}`;
    const content = { msgtype: 'm.text', body: 'sent twice' };
    const send = (p: Participant, txn: string) =>
      request('PUT', `${C}/rooms/{roomId}/send/{eventType}/{txnId}`, {
        path: `${C}/rooms/${enc(roomId)}/send/m.room.message/${enc(txn)}`,
        token: p.client.getAccessToken()!,
        body: content,
        expect: 200,
      });
    // The SDK sends first, then the same request again over HTTP (a retry after a lost response).
    const first = await alice.client.sendEvent(roomId, sdk.EventType.RoomMessage, { msgtype: sdk.MsgType.Text, body: content.body }, txnId);
    expect((await send(alice, txnId)).event_id).toBe(first.event_id);
    // A retry while the first attempt is still in flight.
    const [x, y] = await Promise.all([send(alice, `${txnId}-b`), send(alice, `${txnId}-b`)]);
    expect(y.event_id).toBe(x.event_id);
    // Spec: transaction IDs are scoped to the device; the same ID from bob is another event.
    const bobs = await send(bob, txnId);
    expect(bobs.event_id).not.toBe(first.event_id);
    sent.push({ id: first.event_id, body: content.body }, { id: x.event_id, body: content.body }, { id: bobs.event_id, body: content.body });
    sentBy.set(first.event_id, { p: alice, txnId }).set(x.event_id, { p: alice, txnId: `${txnId}-b` }).set(bobs.event_id, { p: bob, txnId });

    const server = (await serverTimeline(alice.client.getAccessToken()!)).map((e) => e.event_id as string);
    expect(server.filter((id) => id === first.event_id || id === x.event_id)).toHaveLength(2);
    const ids = sentIds();
    for (const p of [alice, bob]) {
      await until(() => has(p, ids), `the retried sends at ${p.name}`);
      expectOnceInOrder(p.live, server, ids, p.name);
    }
  });

  it('bob stops; 60 messages later he resumes from his sync token, gets a limited sync and fills the gap with /messages', { timeout: 40_000 }, async () => {
    const before = sentIds();
    await until(() => has(bob, before), 'bob caught up before stopping');
    bob.client.stopClient();
    const stoppedAt = bob.client.store.getSyncToken();
    expect(stoppedAt).toBeTruthy();
    const syncsBefore = bob.traffic.syncs.length;
    const liveBefore = bob.live.length;

    const gap: Sent[] = [];
    for (let k = 0; k < GAP; k++) gap.push(await say(alice, `alice gap ${k}`, k % 20 === 5));
    for (const [k, m] of gap.entries()) if (k % 20 === 15) await redact(alice, m);
    const gapIds = sentIds().filter((id) => !before.includes(id));
    await until(() => has(alice, gapIds), 'the gap at alice');

    await startSyncing(bob.client, startOptions(bob, CATCH_UP_LIMIT));
    const resumed = consumedSyncs(bob.traffic).find((s) => bob.traffic.syncs.indexOf(s) >= syncsBefore);
    expect(resumed?.since, 'bob resumed from his stored token').toBe(stoppedAt);
    const slice = resumed!.join[roomId]!;
    expect(slice.limited).toBe(true);
    expect(slice.events).toHaveLength(CATCH_UP_LIMIT);
    expect(slice.prev_batch).toBeTruthy();

    // The SDK starts a new live timeline at the gap; paginate it back until it meets the old one.
    const live = bob.client.getRoom(roomId)!.getLiveTimeline();
    expect(live.getEvents().map((e) => e.getId())).toEqual(slice.events);
    const pagesBefore = bob.traffic.messagesFrom.length;
    for (let page = 0; !live.getNeighbouringTimeline(BACKWARDS); page++) {
      if (page > 20) throw new Error('the gap did not close in 20 pages');
      await bob.client.paginateEventTimeline(live, { backwards: true, limit: 20 });
    }
    expect(bob.traffic.messagesFrom[pagesBefore], 'the back-fill starts at prev_batch').toBe(slice.prev_batch);

    const server = (await serverTimeline(alice.client.getAccessToken()!)).map((e) => e.event_id as string);
    // Live, bob missed exactly the gap's events before the limited timeline; the rest came once.
    const missed = server.slice(server.indexOf(bob.live[liveBefore - 1]!) + 1, server.indexOf(slice.events[0]!));
    expect(missed).toHaveLength(gapIds.length - CATCH_UP_LIMIT);
    expect(bob.live).toEqual(server.slice(server.indexOf(bob.live[0]!)).filter((id) => !missed.includes(id)));
    expect(syncedIds(bob.traffic, roomId)).toEqual(bob.live);
    // After the back-fill his timeline holds every message exactly once, in order.
    const view = (await clientTimeline(bob.client, roomId)).map((e) => e.getId()!);
    expectOnceInOrder(view, server, sentIds(), 'bob after the back-fill');
  });

  it("the server's timeline: every event once, redactions stripped, edits stored", { timeout: 20_000 }, async () => {
    const ids = sentIds();
    await Promise.all([alice, bob].map((p) => until(() => has(p, ids), `everything at ${p.name}`)));
    serverEvents = await serverTimeline(alice.client.getAccessToken()!);
    const order = serverEvents.map((e) => e.event_id as string);
    expect(serverEvents[0].type).toBe('m.room.create');
    expect(duplicates(order)).toEqual([]);
    const byId = new Map(serverEvents.map((e) => [e.event_id as string, e]));
    for (const m of sent) {
      if (m.redaction) expect(byId.get(m.id).content, `${m.body} redacted`).toEqual({});
      if (m.edit) expect(byId.get(m.edit.id).content['m.new_content'].body).toBe(m.edit.body);
    }
  });

  it.each([
    ['alice', () => alice],
    ['bob', () => bob],
  ])("%s's whole timeline, paginated back to the room's creation, equals the server's", { timeout: 20_000 }, async (_, who) => {
    const p = who();
    const view = (await clientTimeline(p.client, roomId)).map((e) => e.getId()!);
    expectOnceInOrder(view, serverEvents.map((e) => e.event_id as string), sentIds(), p.name);
    expect(view, `${p.name}: the whole timeline`).toEqual(serverEvents.map((e) => e.event_id));
  });

  it.each([
    ['alice', () => alice],
    ['bob', () => bob],
  ])('%s sees every edit applied and every redacted message redacted, content stripped', { timeout: 20_000 }, async (_, who) => {
    const p = who();
    const room = p.client.getRoom(roomId)!;
    for (const m of sent) {
      const e = room.findEventById(m.id)!;
      if (m.redaction) {
        // The SDK redacts what it holds when the redaction arrives live; what it pages in later
        // it takes as redacted from `unsigned.redacted_because` (spec `UnsignedData`).
        expect(e.isRedacted(), `${p.name}: ${m.body} redacted`).toBe(true);
        expect(e.getContent()).toEqual({});
        expect((e.getRedactionEvent() as { event_id?: string } | null)?.event_id).toBe(m.redaction);
      } else if (m.edit) {
        expect(e.replacingEventId(), `${p.name}: ${m.body} replaced`).toBe(m.edit.id);
        expect(e.getContent().body).toBe(m.edit.body);
      } else {
        expect(e.isRedacted()).toBe(false);
        expect(e.getContent().body).toBe(m.body);
      }
    }
  });

  it("each client's own events come back in its /sync with their transaction ID, which ends the SDK's local echoes", { timeout: 20_000 }, async () => {
    for (const p of [alice, bob]) {
      const txnIds: Record<string, string> = Object.assign({}, ...consumedSyncs(p.traffic).map((s) => s.join[roomId]?.txnIds ?? {}));
      const synced = new Set(syncedIds(p.traffic, roomId));
      // Spec (`UnsignedData.transaction_id`): only to the client that sent the event.
      const expected = Object.fromEntries([...sentBy].filter(([id, s]) => s.p === p && synced.has(id)).map(([id, s]) => [id, s.txnId]));
      expect(Object.keys(expected).length).toBeGreaterThan(0);
      expect(txnIds, `${p.name}: transaction IDs in /sync`).toEqual(expected);
      expect(p.client.getRoom(roomId)!.getPendingEvents().map((e) => e.getId()), `${p.name}: local echoes never matched`).toEqual([]);
    }
  });

  it('every /sync and /messages response the SDK got matches the spec', () => {
    for (const p of [alice, bob]) {
      expect(p.traffic.syncs.length).toBeGreaterThan(10);
      expect(p.traffic.schemaErrors, p.name).toEqual([]);
    }
  });
});
