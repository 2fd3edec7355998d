// Client-Server benchmarks (Client-Server issue), against the whole network as `npm start`
// runs it, over HTTP on loopback from this Node process: sequential sends, concurrent sends
// into one room, and the wake-up latency of a long-polling /sync after a send. Requests go
// through node:http with keep-alive, as a client keeps its connection: Node 20's fetch adds
// about 1.5 ms of its own per request here, which would be measuring the client.
import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Miniflare } from 'miniflare';
import { homeserverBindings, networkOptions } from '../scripts/lib/network.mjs';

const SPEC_TEST_KEY = 'ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0';
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const round = (x) => Number(x.toFixed(2));

/**
 * Median fsync latency of a 4 KiB write in `dir`: workerd's local SQLite commits each Durable
 * Object transaction with an fsync on its event thread, so this bounds what a send can cost here.
 */
export function fsyncLatencyMs(dir) {
  const file = path.join(dir, `fsync-probe-${process.pid}`);
  const fd = openSync(file, 'w');
  const times = [];
  try {
    for (let i = 0; i < 100; i++) {
      writeSync(fd, Buffer.alloc(4096, i));
      const t0 = process.hrtime.bigint();
      fsyncSync(fd);
      times.push(ms(t0));
    }
  } finally {
    closeSync(fd);
    unlinkSync(file);
  }
  return round(percentile(times, 50));
}

/**
 * The Client-Server benchmarks, with the homeserver's data in a fresh directory under `parent`
 * (`storage` names it in every line: the default is the OS temp directory on disk).
 */
export async function clientBenchmarks(emit, { parent = tmpdir(), storage = 'disk' } = {}) {
  const dataDir = await mkdtemp(path.join(parent, 'edge-matrix-bench-'));
  const out = (o) => emit({ ...o, storage });
  out({ bench: 'storage_fsync_4kib', unit: 'ms', median: fsyncLatencyMs(dataDir) });
  // One user sends ~270 events back to back: far over the default message rate (docs/configuration.md).
  const vars = homeserverBindings({
    SERVER_NAME: 'bench.test', PUBLIC_BASEURL: 'http://127.0.0.1', SIGNING_KEY: SPEC_TEST_KEY, REGISTRATION: 'open',
    RC_MESSAGE_PER_SECOND: '1000000', RC_MESSAGE_BURST_COUNT: '1000000',
  });
  const mf = new Miniflare(await networkOptions({ homeserverVars: vars, persistRoot: dataDir, port: 0, host: '127.0.0.1', inspectorPort: undefined }));
  try {
    const url = await mf.ready;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const call = (method, p, token, body) =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            method,
            path: `/_matrix/client${p}`,
            agent,
            headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}) },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => (text += d));
            res.on('end', () => {
              const out = JSON.parse(text);
              if (res.statusCode !== 200) reject(new Error(`${method} ${p}: ${res.statusCode} ${text}`));
              else resolve(out);
            });
          },
        );
        req.on('error', reject);
        if (payload) req.write(payload);
        req.end();
      });
    const register = (name) => call('POST', '/v3/register', undefined, { username: name, password: 'bench password 123', auth: { type: 'm.login.dummy' } });
    const users = [];
    for (let i = 0; i < 5; i++) users.push(await register(`bench${i}`));
    const [alice] = users;
    const { room_id: roomId } = await call('POST', '/v3/createRoom', alice.access_token, { preset: 'public_chat' });
    const room = encodeURIComponent(roomId);
    for (const u of users.slice(1)) await call('POST', `/v3/rooms/${room}/join`, u.access_token, {});
    let txn = 0;
    const send = (u, body) => call('PUT', `/v3/rooms/${room}/send/m.room.message/b${++txn}`, u.access_token, { msgtype: 'm.text', body });

    // Warm-up: isolates, WASM, key imports, caches.
    for (let i = 0; i < 20; i++) await send(alice, `warm ${i}`);

    // 1. 200 sequential sends.
    const sequential = [];
    for (let i = 0; i < 200; i++) {
      const t0 = process.hrtime.bigint();
      await send(alice, `sequential ${i}`);
      sequential.push(ms(t0));
    }
    out({ bench: 'client_send_sequential', events: 200, unit: 'ms', median: round(percentile(sequential, 50)), p99: round(percentile(sequential, 99)), target_median_ms: 5 });

    // 2. 4 senders × 50 sends each, concurrently, into one room.
    const concurrent = [];
    const sentIds = [];
    const start = process.hrtime.bigint();
    await Promise.all(
      users.slice(1).map(async (u, s) => {
        for (let i = 0; i < 50; i++) {
          const t0 = process.hrtime.bigint();
          const { event_id } = await send(u, `sender ${s} message ${i}`);
          concurrent.push(ms(t0));
          sentIds.push(event_id);
        }
      }),
    );
    const seconds = ms(start) / 1000;
    // One DAG, none lost: page the room back and find every event; a /sync of a member sees
    // the room's single tip.
    const seen = new Set();
    let from;
    for (let page = 0; page < 50; page++) {
      const q = new URLSearchParams({ dir: 'b', limit: '100', ...(from ? { from } : {}) });
      const out = await call('GET', `/v3/rooms/${room}/messages?${q}`, alice.access_token);
      for (const e of out.chunk) seen.add(e.event_id);
      if (!out.end) break;
      from = out.end;
    }
    const lost = sentIds.filter((id) => !seen.has(id)).length;
    out({
      bench: 'client_send_concurrent',
      senders: 4,
      per_sender: 50,
      unit: 'events/s',
      value: Math.round(200 / seconds),
      p50_ms: round(percentile(concurrent, 50)),
      p99_ms: round(percentile(concurrent, 99)),
      lost,
      target_events_per_s: 400,
      target_p99_ms: 100,
    });

    // 3. Long-poll /sync wake-up after a send (the body must carry the event).
    const bob = users[1];
    let token = (await call('GET', '/v3/sync', bob.access_token)).next_batch;
    for (;;) {
      const quiet = await call('GET', `/v3/sync?since=${token}&timeout=200`, bob.access_token);
      if (quiet.next_batch === token) break;
      token = quiet.next_batch;
    }
    const wakes = [];
    for (let i = 0; i < 50; i++) {
      const polling = call('GET', `/v3/sync?since=${token}&timeout=30000`, bob.access_token).then((body) => ({ body, at: process.hrtime.bigint() }));
      await new Promise((r) => setTimeout(r, 30));
      const { event_id } = await send(alice, `wake ${i}`);
      const sent = process.hrtime.bigint();
      const { body, at } = await polling;
      const events = body.rooms?.join?.[roomId]?.timeline?.events ?? [];
      if (!events.some((e) => e.event_id === event_id)) throw new Error('woken sync does not carry the event');
      wakes.push(Math.max(0, Number(at - sent) / 1e6));
      token = body.next_batch;
    }
    out({ bench: 'client_sync_wake_after_send', samples: 50, unit: 'ms', measured_from: 'send response received', p50: round(percentile(wakes, 50)), p99: round(percentile(wakes, 99)), target_p99_ms: 10 });
    agent.destroy();
  } finally {
    await mf.dispose();
    await rm(dataDir, { recursive: true, force: true });
  }
}
