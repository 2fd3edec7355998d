/**
 * Room benchmarks inside workerd: local event creation through a real Room object (hash,
 * sign, auth, persist in SQLite), serially and from concurrent callers. Latency is taken
 * around each RPC; workerd's clock advances in whole milliseconds, so per-call figures are
 * quantised to 1 ms and the serial mean (total time / events) is reported beside them.
 */
import { getRoomVersionRules } from '../core/room-versions';
import { roomApi, type SendResult } from '../durable-objects/room/api';
import { newRoomId } from '../durable-objects/room/builder';

export { Room } from '../durable-objects/room/room';
export { User } from '../durable-objects/user/user';

interface Env {
  ROOM: DurableObjectNamespace;
  USER: DurableObjectNamespace;
}

const SERVER = 'bench.test';
const alice = `@alice:${SERVER}`;

async function freshRoom(env: Env) {
  const rules = getRoomVersionRules('12')!;
  const ts = Date.now();
  const roomId = newRoomId(rules, alice, {}, ts, SERVER, crypto.randomUUID());
  const room = roomApi(env.ROOM, roomId);
  const must = (r: SendResult) => {
    if (!r.ok) throw new Error(r.error);
  };
  must(await room.performCreate({ room_id: roomId, room_version: '12', creator: alice, origin_server_ts: ts }));
  must(await room.performSend({ type: 'm.room.member', sender: alice, state_key: alice, content: { membership: 'join' } }));
  must(await room.performSend({ type: 'm.room.power_levels', sender: alice, state_key: '', content: { users: {} } }));
  must(await room.performSend({ type: 'm.room.join_rules', sender: alice, state_key: '', content: { join_rule: 'public' } }));
  return room;
}

const message = (i: number) => ({ type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body: `message number ${i}` } });

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get('n') ?? '200');
    const room = await freshRoom(env);
    // Warm the object (WASM instance, key import, caches) before measuring.
    for (let i = 0; i < 10; i++) await room.performSend(message(-i));

    if (url.pathname === '/serial') {
      const latencies: number[] = [];
      const start = performance.now();
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const r = await room.performSend(message(i));
        latencies.push(performance.now() - t0);
        if (!r.ok) throw new Error(r.error);
      }
      return Response.json({ latencies, seconds: (performance.now() - start) / 1000 });
    }

    if (url.pathname === '/concurrent') {
      const callers = Number(url.searchParams.get('callers') ?? '32');
      const latencies: number[] = [];
      const start = performance.now();
      await Promise.all(
        Array.from({ length: callers }, async (_, c) => {
          for (let i = c; i < n; i += callers) {
            const t0 = performance.now();
            const r = await room.performSend(message(i));
            latencies.push(performance.now() - t0);
            if (!r.ok) throw new Error(r.error);
          }
        }),
      );
      const seconds = (performance.now() - start) / 1000;
      const info = await room.getRoomInfo();
      const events = (await room.getEventsAfter(0, 1000)).length;
      return Response.json({ latencies, seconds, extremities: info?.forward_extremities.length, stored: info?.stream_ordering, events });
    }
    return new Response('not found', { status: 404 });
  },
};
