#!/usr/bin/env node
// `npm run bench`: benchmarks inside workerd (Miniflare), one JSON line per measurement.
// Each measurement runs its loop in the worker several times and reports the median rate;
// the machine is named in every line.
import os from 'node:os';
import path from 'node:path';
import { Miniflare } from 'miniflare';
import { bundleWorker, ROOT } from './lib/network.mjs';

process.env.WRANGLER_SEND_METRICS ??= 'false';

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

try {
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
} finally {
  await mf.dispose();
}
