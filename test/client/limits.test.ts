/** Size limits (spec "Size limits"): too-large events get 413 M_TOO_LARGE and change nothing. */
import { describe, expect, it } from 'vitest';
import { call, json, registerUser } from './helpers';
import { createRoom, enc, messages, ok } from './room-helpers';

describe('event size limits', () => {
  it('refuses events over 65,536 bytes or with over-long keys, and accepts one just under', async () => {
    const alice = await registerUser();
    const roomId = await createRoom(alice);
    const before = (await messages(alice, roomId, { dir: 'b', limit: 100 })).chunk.length;

    const big = await call('PUT', `/v3/rooms/${enc(roomId)}/send/m.room.message/big1`, { token: alice.access_token, body: { msgtype: 'm.text', body: 'x'.repeat(70_000) } });
    expect(big.status).toBe(413);
    expect((await json(big)).errcode).toBe('M_TOO_LARGE');

    const longKey = await call('PUT', `/v3/rooms/${enc(roomId)}/state/m.custom/${'k'.repeat(256)}`, { token: alice.access_token, body: {} });
    expect(longKey.status).toBe(413);
    expect((await json(longKey)).errcode).toBe('M_TOO_LARGE');

    expect((await messages(alice, roomId, { dir: 'b', limit: 100 })).chunk.length).toBe(before);
    await ok('PUT', `/v3/rooms/${enc(roomId)}/send/m.room.message/fits1`, alice.access_token, { msgtype: 'm.text', body: 'x'.repeat(60_000) });
  });
});
