/**
 * Concurrent local sends leave one consistent DAG (Rooms issue, part 4), and every stored
 * event is really hashed, signed and identified by its reference hash.
 */
import { describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../core/base64';
import type { JsonObject } from '../../core/canonical-json';
import { webCryptoEd25519 } from '../../core/crypto/ed25519-webcrypto';
import { verifyEventSignature } from '../../core/crypto/signing';
import { computeEventId, contentHash } from '../../core/events/hashes';
import { newRoom, SERVER, user } from './builders';

const PUBLIC_KEY = decodeBase64('XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI');

describe('Room DAG', () => {
  it('200 concurrent sends: none lost, one extremity, every prev known, depths increasing', async () => {
    const { room, rules, send } = await newRoom();
    const bob = user('bob');
    await send({ type: 'm.room.member', sender: bob, state_key: bob, content: { membership: 'join' } });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        room.performSend({
          type: 'm.room.message',
          sender: i % 2 ? bob : user('alice'),
          content: { msgtype: 'm.text', body: `message ${i}` },
          txn: { device_id: 'DEV', txn_id: `t${i}`, endpoint: 'send' },
        }),
      ),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const ids = results.map((r) => (r.ok ? r.event_id : ''));
    expect(new Set(ids).size).toBe(200);

    const events = await room.getEventsAfter(0, 1000);
    expect(events).toHaveLength(205);
    const byId = new Map(events.map((e) => [e.event_id, e]));
    for (const id of ids) expect(byId.get(id)?.status).toBe('accepted');
    const children = new Map<string, number>();
    for (const e of events) {
      const pdu = e.pdu;
      expect(computeEventId(pdu, rules)).toBe(e.event_id);
      expect((pdu.hashes as JsonObject).sha256).toBe(contentHash(pdu));
      expect(await verifyEventSignature(pdu, rules, SERVER, 'ed25519:1', PUBLIC_KEY, webCryptoEd25519)).toBe(true);
      for (const prev of pdu.prev_events as string[]) {
        const parent = byId.get(prev);
        expect(parent, `prev ${prev} of ${e.event_id}`).toBeDefined();
        expect(parent!.stream_ordering).toBeLessThan(e.stream_ordering);
        expect(pdu.depth as number).toBeGreaterThan(parent!.pdu.depth as number);
        children.set(prev, (children.get(prev) ?? 0) + 1);
      }
    }
    // Every event has a state; a message's state is its prev event's.
    for (const e of events) expect(await room.getStateAfter(e.event_id), e.event_id).toBeDefined();
    const lastState = await room.getStateAfter(ids.at(-1)!);
    expect(lastState).toEqual(await room.getCurrentState());
    const info = (await room.getRoomInfo())!;
    expect(info.forward_extremities).toHaveLength(1);
    // Exactly one event is nobody's prev event: the extremity.
    const leaves = events.filter((e) => !children.has(e.event_id)).map((e) => e.event_id);
    expect(leaves).toEqual(info.forward_extremities);
  });

  it('a retried transaction returns the same event and stores nothing new', async () => {
    const { room } = await newRoom();
    const input = { type: 'm.room.message', sender: user('alice'), content: { body: 'once' }, txn: { device_id: 'D1', txn_id: 'abc', endpoint: 'send' as const } };
    const [a, b] = await Promise.all([room.performSend(input), room.performSend(input)]);
    const c = await room.performSend(input);
    expect(a.ok && b.ok && c.ok).toBe(true);
    if (!a.ok || !b.ok || !c.ok) return;
    expect(b.event_id).toBe(a.event_id);
    expect(c.event_id).toBe(a.event_id);
    const other = await room.performSend({ ...input, txn: { device_id: 'D2', txn_id: 'abc', endpoint: 'send' as const } });
    expect(other.ok && other.event_id).not.toBe(a.event_id);
    const count = (await room.getEventsAfter(0, 100)).filter((e) => (e.pdu.content as JsonObject).body === 'once').length;
    expect(count).toBe(2);
  });

  it('redacts an event when an authorised redaction is accepted', async () => {
    const { room, send, rules } = await newRoom();
    const msg = await send({ type: 'm.room.message', sender: user('alice'), content: { msgtype: 'm.text', body: 'secret' } });
    const redaction = await send({ type: 'm.room.redaction', sender: user('alice'), content: { reason: 'oops' }, redacts: msg.event_id });
    const stored = (await room.getEvent(msg.event_id))!;
    expect(stored.redacted_by).toBe(redaction.event_id);
    expect(stored.pdu.content).toEqual({});
    // The redacted copy keeps its ID and signature.
    expect(computeEventId(stored.pdu, rules)).toBe(msg.event_id);
    expect(await verifyEventSignature(stored.pdu, rules, SERVER, 'ed25519:1', PUBLIC_KEY, webCryptoEd25519)).toBe(true);
  });
});
