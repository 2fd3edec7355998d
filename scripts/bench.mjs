#!/usr/bin/env node
// `npm run bench`: benchmarks inside workerd (Miniflare), one JSON line per measurement.
// Each measurement runs its loop in the worker several times and reports the median rate;
// the machine is named in every line.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Miniflare } from 'miniflare';
import { bundleWorker, ROOT } from './lib/network.mjs';
import { clientBenchmarks } from '../bench/client.mjs';
import { spawn } from 'node:child_process';

process.env.WRANGLER_SEND_METRICS ??= 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';

const machine = `${os.cpus()[0]?.model ?? 'unknown cpu'} ×${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const mf = new Miniflare({
  modules: await bundleWorker(path.join(ROOT, 'bench/worker.ts')),
  compatibilityDate: '2026-04-26',
});
await mf.ready;

async function call(name, iterations) {
  const res = await mf.dispatchFetch('http://bench/run', { method: 'POST', body: JSON.stringify({ name, iterations }) });
  const body = await res.json();
  if (!res.ok) throw new Error(`${name}: ${JSON.stringify(body)}`);
  return body;
}

/** Median events/s over `runs` calls of `iterations` each, after one warm-up call. */
async function measure(name, iterations, runs = 7) {
  await call(name, Math.max(1, Math.floor(iterations / 4)));
  const rates = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    await call(name, iterations);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(iterations / seconds);
  }
  return { median: median(rates), min: Math.min(...rates), max: Math.max(...rates) };
}

const emit = (o) => console.log(JSON.stringify({ ...o, machine }));

const SPEC_TEST_KEY = 'ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0';
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/** Local event creation in one Room object (Rooms issue): serial, and 32 concurrent callers. */
async function roomBenchmarks() {
  const roomMf = new Miniflare({
    modules: await bundleWorker(path.join(ROOT, 'bench/room-worker.ts')),
    compatibilityDate: '2026-04-26',
    durableObjects: { ROOM: { className: 'Room', useSQLite: true }, USER: { className: 'User', useSQLite: true } },
    bindings: { SERVER_NAME: 'bench.test', SIGNING_KEY: SPEC_TEST_KEY },
  });
  try {
    await roomMf.ready;
    const serial = await (await roomMf.dispatchFetch('http://bench/serial?n=500')).json();
    if (!serial.latencies) throw new Error(JSON.stringify(serial));
    emit({
      bench: 'room_local_event_serial',
      unit: 'ms',
      events: serial.latencies.length,
      mean: Number(((serial.seconds * 1000) / serial.latencies.length).toFixed(3)),
      p50: percentile(serial.latencies, 50),
      p99: percentile(serial.latencies, 99),
      note: 'p50/p99 are whole milliseconds (workerd clock granularity); mean = total / events',
      target_p50_ms: 2,
    });
    const conc = await (await roomMf.dispatchFetch('http://bench/concurrent?n=2000&callers=32')).json();
    if (!conc.latencies) throw new Error(JSON.stringify(conc));
    emit({
      bench: 'room_local_event_concurrent',
      callers: 32,
      events: conc.latencies.length,
      unit: 'events/s',
      value: Math.round(conc.latencies.length / conc.seconds),
      p50_ms: Number(percentile(conc.latencies, 50).toFixed(2)),
      p99_ms: Number(percentile(conc.latencies, 99).toFixed(2)),
      forward_extremities_after: conc.extremities,
      target_events_per_s: 1000,
    });
  } finally {
    await roomMf.dispose();
  }
}

/** Time one request from outside, minus nothing: the round trip is ~0.2 ms against ~100s of ms. */
async function timed(url) {
  const t0 = process.hrtime.bigint();
  const res = await mf.dispatchFetch(url);
  const body = await res.json();
  if (!res.ok) throw new Error(JSON.stringify(body));
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, body };
}

/** State resolution of two forks of a 30k-state-event room in WASM (Rooms issue). */
async function stateResBenchmarks() {
  for (const version of ['12', '11']) {
    const prep = (await timed(`http://bench/stateres/prepare?version=${version}`)).body;
    for (const mode of ['wasm', 'objects']) {
      const runs = [];
      let resolved = 0;
      for (let i = 0; i < 5; i++) {
        const r = await timed(`http://bench/stateres/run?version=${version}&mode=${mode}`);
        runs.push(r.ms);
        resolved = r.body.resolved;
      }
      emit({
        bench: 'state_resolution_two_forks',
        room_version: version,
        input: mode === 'wasm' ? 'pre-serialised request' : 'objects (serialisation included)',
        state_events: prep.state_events,
        conflicted_keys: prep.conflicted_keys,
        resolved_entries: resolved,
        unit: 'ms',
        median: Number(median(runs).toFixed(1)),
        min: Number(Math.min(...runs).toFixed(1)),
        runs: runs.length,
        target_ms: 500,
      });
    }
  }
}

/**
 * The federation benchmarks run in a child process (`node bench/federation.mjs`): a join too
 * big for one request can take its workerd down, which must not end the other benchmarks.
 * Their JSON lines pass through; a crash is reported as a line of its own.
 */
async function federationInChild() {
  const child = spawn(process.execPath, [path.join(ROOT, 'bench/federation.mjs')], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    const lines = out.split('\n');
    out = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{')) console.log(line);
  });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) emit({ bench: 'federation', failed: `bench/federation.mjs exited with ${code} (see its output above)` });
}

try {
  // On disk, as `npm start` keeps its data; and in memory (tmpfs) where the machine has one, to
  // show what the same code costs without the disk's fsync per Durable Object commit.
  await clientBenchmarks(emit);
  if (existsSync('/dev/shm')) await clientBenchmarks(emit, { parent: '/dev/shm', storage: 'tmpfs' });
  await federationInChild();
  await stateResBenchmarks();
  await roomBenchmarks();
  const size = await (await mf.dispatchFetch('http://bench/event-size')).json();
  const webcrypto = await measure('inbound_event_verify_webcrypto', 2000);
  const noble = await measure('inbound_event_verify_noble', 200);
  for (const [impl, r] of [['webcrypto', webcrypto], ['noble', noble]]) {
    emit({
      bench: 'inbound_event_canonical_hash_verify',
      ed25519: impl,
      event_bytes: size.bytes,
      unit: 'events/s',
      median: Math.round(r.median),
      min: Math.round(r.min),
      max: Math.round(r.max),
      runs: 7,
    });
  }
  emit({ bench: 'inbound_event_canonical_hash_verify', ratio: 'webcrypto/noble', value: Number((webcrypto.median / noble.median).toFixed(1)) });
  // Where the time of that path goes.
  for (const [name, iterations, unit] of [
    ['canonical_json_1kib', 5000, 'encodings/s'],
    ['content_hash_1kib', 5000, 'hashes/s'],
    ['ed25519_verify_webcrypto', 3000, 'verifications/s'],
    ['ed25519_verify_noble', 200, 'verifications/s'],
  ]) {
    const r = await measure(name, iterations);
    emit({ bench: name, unit, median: Math.round(r.median), min: Math.round(r.min), max: Math.round(r.max), runs: 7 });
  }
} finally {
  await mf.dispose();
}
