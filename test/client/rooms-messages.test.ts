/** /messages: stream-order tokens both ways without gaps or repeats, `to`, limits and filters. */
import { beforeAll, describe, expect, it } from 'vitest';
import { call, json, registerUser, type Session } from './helpers';
import { createRoom, enc, fails, messages, sendMessage, type MessagesPage } from './room-helpers';

let a: Session;
let b: Session;
let roomId: string;
const sent: string[] = [];

beforeAll(async () => {
  a = await registerUser();
  b = await registerUser();
  roomId = await createRoom(a, { preset: 'public_chat' });
  await call('POST', `/v3/rooms/${enc(roomId)}/join`, { token: b.access_token, body: {} });
  for (let i = 0; i < 50; i++) sent.push(await sendMessage(i % 5 === 0 ? b : a, roomId, `m${i}`));
});

/** Every page from `first` on, following `end` until it is absent. */
async function pageAll(first: Record<string, string | number>): Promise<MessagesPage[]> {
  const pages: MessagesPage[] = [];
  let params = first;
  for (let i = 0; i < 100; i++) {
    const page = await messages(a, roomId, params);
    pages.push(page);
    if (page.end === undefined) return pages;
    params = { ...first, from: page.end };
  }
  throw new Error('no end');
}

describe('/messages', () => {
  it('pages backwards from the newest and forwards from the start, without gaps or repeats', async () => {
    const back = await pageAll({ dir: 'b', limit: 7 });
    const backIds = back.flatMap((p) => p.chunk.map((e) => e.event_id));
    expect(new Set(backIds).size).toBe(backIds.length);
    expect(backIds.slice(0, 50)).toEqual([...sent].reverse());
    expect(back.at(-1)!.chunk.at(-1)!.type).toBe('m.room.create');
    expect(back.every((p) => p.chunk.length <= 7)).toBe(true);

    const forward = await pageAll({ dir: 'f', limit: 9, from: 'r0' });
    const forwardIds = forward.flatMap((p) => p.chunk.map((e) => e.event_id));
    expect(forwardIds).toEqual([...backIds].reverse());

    // The first backwards page's start, used forwards, has nothing after it.
    const tail = await messages(a, roomId, { dir: 'f', from: back[0]!.start });
    expect(tail).toEqual({ chunk: [], start: back[0]!.start });
  });

  it('stops at `to`, and a page start equals the `from` given', async () => {
    const first = await messages(a, roomId, { dir: 'b', limit: 10 });
    const second = await messages(a, roomId, { dir: 'b', limit: 10, from: first.end! });
    expect(second.start).toBe(first.end);
    // Forwards from the second page's end up to the first page's end: exactly the second page.
    const between = await messages(a, roomId, { dir: 'f', from: second.end!, to: first.end!, limit: 100 });
    expect(between.chunk.map((e) => e.event_id)).toEqual(second.chunk.map((e) => e.event_id).reverse());
    expect(between.end).toBeUndefined();
  });

  it('applies types and senders, and lazy-loads the senders\' member events', async () => {
    const filter = JSON.stringify({ types: ['m.room.mess*'], senders: [b.user_id], lazy_load_members: true });
    const page = await messages(a, roomId, { dir: 'b', limit: 3, filter });
    expect(page.chunk.map((e) => e.event_id)).toEqual([sent[45], sent[40], sent[35]]);
    expect(page.state!.map((e) => e.state_key)).toEqual([b.user_id]);
    const rest = await messages(a, roomId, { dir: 'b', limit: 100, filter, from: page.end! });
    expect(rest.chunk.map((e) => e.event_id)).toEqual([sent[30], sent[25], sent[20], sent[15], sent[10], sent[5], sent[0]]);
    expect(rest.end).toBeUndefined();

    const notB = await messages(a, roomId, { dir: 'b', limit: 50, filter: JSON.stringify({ not_senders: [b.user_id], not_types: ['m.room.member'] }) });
    expect(notB.chunk.every((e) => e.sender === a.user_id && e.type !== 'm.room.member')).toBe(true);
  });

  it('defaults limit to 10 and refuses bad parameters', async () => {
    expect((await messages(a, roomId, { dir: 'b' })).chunk).toHaveLength(10);
    const base = `/v3/rooms/${enc(roomId)}/messages`;
    await fails('GET', `${base}`, a.access_token, 400, 'M_INVALID_PARAM');
    await fails('GET', `${base}?dir=b&from=s123`, a.access_token, 400, 'M_INVALID_PARAM');
    await fails('GET', `${base}?dir=b&limit=-1`, a.access_token, 400, 'M_INVALID_PARAM');
    await fails('GET', `${base}?dir=b&filter=notjson`, a.access_token, 400, 'M_INVALID_PARAM');
    const res = await call('GET', `${base}?dir=b&limit=5000`, { token: a.access_token });
    expect((await json<MessagesPage>(res)).chunk.length).toBeLessThanOrEqual(1000);
  });
});
