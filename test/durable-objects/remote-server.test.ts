/**
 * Outbound federation (spec v1.16, Server-Server API "Transactions"): the RemoteServer object
 * sends its queue as ordered transactions of at most 50 PDUs and 100 EDUs, one in flight,
 * retrying the same transaction with backoff and dropping rows only after a 200; the Room
 * hands its own events, typing and receipts to the servers in the room, and nothing else.
 *
 * The objects run in this isolate, so the test stands in for the network by replacing
 * `fetch`: each destination's requests are recorded and answered as the test says.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../core/base64';
import type { JsonObject } from '../../core/canonical-json';
import { webCryptoEd25519 } from '../../core/crypto/ed25519-webcrypto';
import { verifyJsonSignature } from '../../core/crypto/signing';
import { parseXMatrix, receivedSigningObject } from '../../core/federation/x-matrix';
import type { RoomVersionRules } from '../../core/room-versions';
import { buildPdu, type EventTemplate } from '../../durable-objects/room/builder';
import type { RoomApi } from '../../durable-objects/room/api';
import { remoteServerApi, type Edu, type QueueState } from '../../durable-objects/remote-server/api';
import {
  backoffDelay, BACKOFF_MAX_MS, EDU_MAX_AGE_MS, MAX_EDUS_PER_TRANSACTION, MAX_PDUS_PER_TRANSACTION, nextTransactionId, pduErrors, pduQueueKey, planTransaction,
} from '../../durable-objects/remote-server/batch';
import { newRoom, SERVER, user } from './builders';

/** The public half of the spec's test signing key, which the test configuration signs with. */
const PUBLIC_KEY = decodeBase64('XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI');

interface Sent {
  destination: string;
  txnId: string;
  authorization: string;
  text: string;
  body: { origin: string; origin_server_ts: number; pdus: JsonObject[]; edus?: { edu_type: string; content: JsonObject }[] };
}

/** Answers per destination; default 200 `{pdus: {}}`. `throw`: a network failure. */
type Answer = number | 'throw' | { status: 200; body: JsonObject };

let sent: Sent[] = [];
const answers = new Map<string, Answer[]>();
const realFetch = globalThis.fetch;

beforeEach(() => {
  sent = [];
  answers.clear();
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    // No delegation for any test server: requests go to the server name itself.
    if (url.pathname === '/.well-known/matrix/server') return new Response('{}', { status: 404 });
    const m = /^\/_matrix\/federation\/v1\/send\/([^/]+)$/.exec(url.pathname);
    if (!m || init?.method !== 'PUT') return new Response('{"errcode":"M_UNRECOGNIZED"}', { status: 404 });
    const authorization = new Headers(init.headers).get('Authorization') ?? '';
    const parsed = parseXMatrix(authorization);
    const destination = parsed.ok ? parsed.auth.destination ?? '' : '';
    const text = String(init.body);
    sent.push({ destination, txnId: decodeURIComponent(m[1]!), authorization, text, body: JSON.parse(text) });
    const answer = answers.get(destination)?.shift() ?? 200;
    if (answer === 'throw') throw new TypeError('connection refused');
    if (typeof answer === 'object') return Response.json(answer.body, { status: answer.status });
    return Response.json(answer === 200 ? { pdus: {} } : { errcode: 'M_UNKNOWN', error: 'try later' }, { status: answer });
  }) as typeof fetch;
});

afterEach(() => {
  globalThis.fetch = realFetch;
});

let counter = 0;
/** A destination no other test uses (objects and their queues persist across tests). */
const newDestination = () => `remote${++counter}x${Math.random().toString(36).slice(2, 8)}.test`;

/** A stand-in PDU: the queue only needs its content hash to tell PDUs apart. */
const fakePdu = (i: number, tag = 'p'): JsonObject => ({ type: 'm.room.message', content: { body: `${tag}${i}` }, hashes: { sha256: `${tag}-${i}` } });

const sentTo = (destination: string) => sent.filter((s) => s.destination === destination);

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const queueState = (destination: string): Promise<QueueState> => remoteServerApi(env.REMOTE_SERVER, destination).getQueueState();
const drained = (destination: string) => async () => {
  const s = await queueState(destination);
  return s.pending_pdus === 0 && s.pending_edus === 0 && s.transaction === undefined;
};

describe('transaction planning (batch.ts)', () => {
  it('takes the oldest 50 PDUs and 100 EDUs, in queue order', () => {
    const pdus = Array.from({ length: 60 }, (_, i) => ({ id: 60 - i, pdu: fakePdu(60 - i) }));
    const edus = Array.from({ length: 130 }, (_, i) => ({ id: i + 1, edu_type: 'm.typing', content: { n: i + 1 }, queued_ts: 0 }));
    const plan = planTransaction('hs.test', 1234, pdus, edus)!;
    expect(plan.body.origin).toBe('hs.test');
    expect(plan.body.origin_server_ts).toBe(1234);
    expect(plan.pdu_ids).toEqual(Array.from({ length: MAX_PDUS_PER_TRANSACTION }, (_, i) => i + 1));
    expect(plan.body.pdus).toEqual(plan.pdu_ids.map((id) => fakePdu(id)));
    expect(plan.edu_ids).toHaveLength(MAX_EDUS_PER_TRANSACTION);
    expect(plan.body.edus.at(-1)).toEqual({ edu_type: 'm.typing', content: { n: 100 } });
    expect(planTransaction('hs.test', 1, [], [])).toBeUndefined();
    expect(planTransaction('hs.test', 1, [], edus.slice(0, 1))!.body.pdus).toEqual([]);
  });

  it('backs off from 1 s, doubling, capped at an hour', () => {
    expect([1, 2, 3, 4].map(backoffDelay)).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(backoffDelay(13)).toBe(BACKOFF_MAX_MS);
    expect(backoffDelay(10_000)).toBe(BACKOFF_MAX_MS);
  });

  it('transaction IDs only grow, even when the clock does not', () => {
    expect(nextTransactionId(undefined, 500)).toBe('500');
    expect(nextTransactionId('500', 500)).toBe('501');
    expect(nextTransactionId('900', 500)).toBe('901');
    expect(nextTransactionId('900', 2000)).toBe('2000');
  });

  it('reads per-PDU errors from an answer, and keys PDUs by content hash', () => {
    expect(pduErrors({ pdus: { $a: {}, $b: { error: 'bad signature' } } })).toEqual([{ event_id: '$b', error: 'bad signature' }]);
    expect(pduErrors({})).toEqual([]);
    expect(pduQueueKey(fakePdu(1))).toBe(pduQueueKey({ ...fakePdu(1), unsigned: { age: 1 } }));
    expect(pduQueueKey(fakePdu(1))).not.toBe(pduQueueKey(fakePdu(2)));
  });
});

describe('RemoteServer object', () => {
  it('sends everything queued as signed transactions: PDUs in order, at most 50 PDUs and 100 EDUs each', async () => {
    const dest = newDestination();
    const pdus = Array.from({ length: 120 }, (_, i) => fakePdu(i));
    const edus = Array.from({ length: 150 }, (_, i) => ({ edu_type: 'm.typing', content: { room_id: '!r:x', user_id: `@u${i}:${SERVER}`, typing: true } }));
    const r = await remoteServerApi(env.REMOTE_SERVER, dest).performEnqueue({ pdus, edus });
    expect(r).toEqual({ queued_pdus: 120, queued_edus: 150 });
    await until('the queue to drain', drained(dest));

    const txns = sentTo(dest);
    expect(txns.map((t) => [t.body.pdus.length, t.body.edus?.length ?? 0])).toEqual([[50, 100], [50, 50], [20, 0]]);
    expect(txns.flatMap((t) => t.body.pdus)).toEqual(pdus);
    expect(txns.flatMap((t) => t.body.edus ?? [])).toEqual(edus);
    expect(new Set(txns.map((t) => t.txnId)).size).toBe(3);
    for (const t of txns) {
      expect(t.body.origin).toBe(SERVER);
      // Spec "Request Authentication": signed by us, for this destination, over method, URI and body.
      const parsed = parseXMatrix(t.authorization);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) continue;
      expect(parsed.auth).toMatchObject({ origin: SERVER, destination: dest, key: 'ed25519:1' });
      const signed = receivedSigningObject('PUT', `/_matrix/federation/v1/send/${t.txnId}`, parsed.auth, dest, t.body);
      signed.signatures = { [SERVER]: { [parsed.auth.key]: parsed.auth.sig } };
      expect(await verifyJsonSignature(signed, SERVER, parsed.auth.key, PUBLIC_KEY, webCryptoEd25519)).toBe(true);
    }
  });

  it('retries the same transaction (ID and body) with backoff, holding back later PDUs, until a 200', async () => {
    const dest = newDestination();
    answers.set(dest, [500, 'throw', 200]);
    const api = remoteServerApi(env.REMOTE_SERVER, dest);
    await api.performEnqueue({ pdus: [fakePdu(1), fakePdu(2)] });
    await until('the first failure', async () => (await queueState(dest)).transaction?.failures === 1);
    const first = await queueState(dest);
    expect(first.pending_pdus).toBe(2);
    expect(first.transaction!.retry_at! - Date.now()).toBeGreaterThan(0);
    expect(first.transaction!.retry_at! - Date.now()).toBeLessThanOrEqual(1_000);
    expect(first.transaction!.last_error).toMatch(/500/);

    // Queued during the backoff: waits for the transaction in flight, sent after it.
    await api.performEnqueue({ pdus: [fakePdu(3)], edus: [{ edu_type: 'm.typing', content: { typing: false } }] });
    expect(sentTo(dest)).toHaveLength(1);

    const stub = env.REMOTE_SERVER.getByName(dest);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await until('the second failure', async () => (await queueState(dest)).transaction?.failures === 2);
    const second = await queueState(dest);
    expect(second.transaction!.retry_at! - Date.now()).toBeGreaterThan(1_000);
    expect(second.transaction!.retry_at! - Date.now()).toBeLessThanOrEqual(2_000);
    expect(second.pending_pdus).toBe(3);

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await until('the queue to drain', drained(dest));
    const txns = sentTo(dest);
    expect(txns).toHaveLength(4);
    // Three tries of the first transaction, byte for byte the same; then the rest.
    expect(new Set(txns.slice(0, 3).map((t) => t.txnId)).size).toBe(1);
    expect(new Set(txns.slice(0, 3).map((t) => t.text)).size).toBe(1);
    expect(txns[0]!.body.pdus).toEqual([fakePdu(1), fakePdu(2)]);
    expect(txns[3]!.txnId).not.toBe(txns[0]!.txnId);
    expect(txns[3]!.body.pdus).toEqual([fakePdu(3)]);
    expect(txns[3]!.body.edus).toEqual([{ edu_type: 'm.typing', content: { typing: false } }]);
  });

  it('drops EDUs queued too long ago, but never to-device messages or device-list updates', async () => {
    const dest = newDestination();
    answers.set(dest, [503]);
    const api = remoteServerApi(env.REMOTE_SERVER, dest);
    // A PDU holds the queue in a failing transaction while the EDUs behind it grow old.
    await api.performEnqueue({ pdus: [fakePdu(1)] });
    await until('the failure', async () => (await queueState(dest)).transaction?.failures === 1);
    const edus: Edu[] = [
      { edu_type: 'm.typing', content: { room_id: '!r:x', user_id: '@a:x', typing: true } },
      { edu_type: 'm.direct_to_device', content: { sender: '@a:x', type: 'm.room.encrypted', message_id: 'm1', messages: {} } },
      { edu_type: 'm.device_list_update', content: { user_id: '@a:x', device_id: 'D', stream_id: 1, prev_id: [] } },
      { edu_type: 'm.signing_key_update', content: { user_id: '@a:x' } },
    ];
    await api.performEnqueue({ edus });
    // Queued beyond EDU_MAX_AGE_MS ago (10 minutes), as after a long outage.
    await runInDurableObject(env.REMOTE_SERVER.getByName(dest), async (_, state) => {
      state.storage.sql.exec('UPDATE queued_edus SET queued_ts = queued_ts - ?', EDU_MAX_AGE_MS + 60_000);
    });
    await api.performWake();
    await until('the queue to drain', drained(dest));
    const delivered = sentTo(dest).flatMap((t) => t.body.edus ?? []);
    expect(delivered.map((e) => e.edu_type)).toEqual(['m.direct_to_device', 'm.device_list_update', 'm.signing_key_update']);
  });

  it('performWake retries at once with a fresh backoff', async () => {
    const dest = newDestination();
    answers.set(dest, [503]);
    const api = remoteServerApi(env.REMOTE_SERVER, dest);
    await api.performEnqueue({ pdus: [fakePdu(1)] });
    await until('the failure', async () => (await queueState(dest)).transaction?.failures === 1);
    await api.performWake();
    await until('the queue to drain', drained(dest));
    expect(sentTo(dest).map((t) => t.txnId)).toEqual([sentTo(dest)[0]!.txnId, sentTo(dest)[0]!.txnId]);
  });

  it('a PDU handed over again while queued is queued once; per-PDU errors of a 200 are not retried', async () => {
    const dest = newDestination();
    answers.set(dest, [500, { status: 200, body: { pdus: { $x: { error: 'You are not allowed to send that' } } } }]);
    const api = remoteServerApi(env.REMOTE_SERVER, dest);
    expect(await api.performEnqueue({ pdus: [fakePdu(1)] })).toEqual({ queued_pdus: 1, queued_edus: 0 });
    await until('the failure', async () => (await queueState(dest)).transaction?.failures === 1);
    // A Room retrying a hand-over whose answer it lost.
    expect(await api.performEnqueue({ pdus: [fakePdu(1), fakePdu(2)] })).toEqual({ queued_pdus: 1, queued_edus: 0 });
    await api.performWake();
    await until('the queue to drain', drained(dest));
    const txns = sentTo(dest);
    expect(txns.map((t) => t.body.pdus)).toEqual([[fakePdu(1)], [fakePdu(1)], [fakePdu(2)]]);
    // The refusal in the 200 was the destination's verdict: nothing is sent again.
    expect(await runDurableObjectAlarm(env.REMOTE_SERVER.getByName(dest))).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(sentTo(dest)).toHaveLength(3);
  });
});

/** A PDU from `server`, placed by the test (the Room object does not check signatures). */
async function remotePdu(room: RoomApi, rules: RoomVersionRules, server: string, template: EventTemplate, roomId: string) {
  const info = (await room.getRoomInfo())!;
  const state = await room.getCurrentState();
  const id = (type: string, key: string) => state.find(([t, k]) => t === type && k === key)?.[2];
  const auth = [id('m.room.power_levels', ''), id('m.room.join_rules', '')].filter((x): x is string => x !== undefined);
  if (!rules.room_id_is_create_event_hash) auth.push(info.create_event_id);
  const depths = await Promise.all(info.forward_extremities.map(async (e) => ((await room.getEvent(e))?.pdu.depth as number) ?? 0));
  const built = buildPdu(rules, template, { room_id: roomId, prev_events: info.forward_extremities, auth_events: auth, depth: Math.max(0, ...depths) + 1, origin_server_ts: Date.now() });
  return { ...built, pdu: { ...built.pdu, signatures: { [server]: { 'ed25519:x': 'unchecked-here' } } } as JsonObject };
}

describe('Room: local events, typing and receipts go to the servers in the room', () => {
  it('sends local events to a server with a joined member, in order, but not the events it received', async () => {
    const { room, roomId, rules, creator, send } = await newRoom();
    const dest = newDestination();
    const bob = `@bob:${dest}`;
    const join = await remotePdu(room, rules, dest, { type: 'm.room.member', sender: bob, state_key: bob, content: { membership: 'join' } }, roomId);
    expect(await room.ingestPdu(join.pdu)).toEqual({ event_id: join.event_id, status: 'accepted' });
    expect(sentTo(dest)).toEqual([]);

    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await send({ type: 'm.room.message', sender: creator, content: { msgtype: 'm.text', body: `m${i}` } })).event_id);
    await until('five PDUs at the destination', () => sentTo(dest).flatMap((t) => t.body.pdus).length >= 5);
    await until('the queue to drain', drained(dest));
    const pdus = sentTo(dest).flatMap((t) => t.body.pdus);
    expect(pdus.map((p) => (p.content as JsonObject).body)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    // Exactly the stored, signed events.
    for (const [i, p] of pdus.entries()) expect(p).toEqual((await room.getEvent(ids[i]!))!.pdu);
    expect(pdus.every((p) => p.sender === creator)).toBe(true);

    // Typing and a public read receipt of a local user go out as EDUs (a private one does not).
    expect(await room.performTyping({ user_id: creator, typing: true, timeout_ms: 30_000 })).toEqual({ ok: true });
    expect(await room.performReceipt({ user_id: creator, receipt_type: 'm.read.private', event_id: ids[3]! })).toEqual({ ok: true });
    expect(await room.performReceipt({ user_id: creator, receipt_type: 'm.read', event_id: ids[4]! })).toEqual({ ok: true });
    await until('two EDUs', () => sentTo(dest).flatMap((t) => t.body.edus ?? []).length >= 2);
    await until('the queue to drain', drained(dest));
    const edus = sentTo(dest).flatMap((t) => t.body.edus ?? []);
    expect(edus).toHaveLength(2);
    expect(edus[0]).toEqual({ edu_type: 'm.typing', content: { room_id: roomId, user_id: creator, typing: true } });
    expect(edus[1]).toMatchObject({ edu_type: 'm.receipt', content: { [roomId]: { 'm.read': { [creator]: { event_ids: [ids[4]] } } } } });
    expect(((((edus[1]!.content as JsonObject)[roomId] as JsonObject)['m.read'] as JsonObject)[creator] as JsonObject).data).toMatchObject({ ts: expect.any(Number) });
  });

  it('a server whose last member is kicked gets the kick, and nothing after it', async () => {
    const { room, roomId, rules, creator, send } = await newRoom();
    const dest = newDestination();
    const bob = `@bob:${dest}`;
    const join = await remotePdu(room, rules, dest, { type: 'm.room.member', sender: bob, state_key: bob, content: { membership: 'join' } }, roomId);
    expect((await room.ingestPdu(join.pdu)).status).toBe('accepted');
    const kick = await send({ type: 'm.room.member', sender: creator, state_key: bob, content: { membership: 'leave' } });
    await send({ type: 'm.room.message', sender: creator, content: { msgtype: 'm.text', body: 'after' } });
    await until('the kick at the destination', () => sentTo(dest).length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    const pdus = sentTo(dest).flatMap((t) => t.body.pdus);
    expect(pdus).toEqual([(await room.getEvent(kick.event_id))!.pdu]);
  });

  it('a room with only local members sends nothing', async () => {
    const { creator, send } = await newRoom();
    await send({ type: 'm.room.member', sender: user('carol'), state_key: user('carol'), content: { membership: 'join' } });
    await send({ type: 'm.room.message', sender: creator, content: { msgtype: 'm.text', body: 'local only' } });
    await new Promise((r) => setTimeout(r, 100));
    expect(sent).toEqual([]);
  });
});
