/**
 * Benchmarks that must run inside workerd. `POST /run {name, iterations}` runs one benchmark's
 * loop and answers `{iterations, checksum}`; scripts/bench.mjs times the calls from outside
 * (workerd does not advance its clocks during synchronous work, so inner timing would lie).
 */
import type { JsonObject } from '../core/canonical-json';
import { encodeCanonicalJson } from '../core/canonical-json';
import { decodeBase64 } from '../core/base64';
import type { Ed25519 } from '../core/crypto/ed25519';
import { nobleEd25519 } from '../core/crypto/ed25519-noble';
import { webCryptoEd25519 } from '../core/crypto/ed25519-webcrypto';
import { signEvent, verifyEventSignature } from '../core/crypto/signing';
import { contentHash } from '../core/events/hashes';
import { getRoomVersionRules, type RoomVersionRules } from '../core/room-versions';
import { matrixCore } from '../wasm/module';
import { resolveState } from '../wasm/ops';
import { syntheticRoom, type SyntheticRoom } from './synthetic-room';

const SEED = decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0');
const RULES = getRoomVersionRules('12') as RoomVersionRules;

const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(40);

/** A message event like a typical chat PDU; `body` is sized so the signed event is 1 KiB. */
function messageEvent(body: string): JsonObject {
  return {
    room_id: '!31hneApxJ_1o-63DmFrpeqnkFfWppnzWso1JvH3ogLM',
    sender: '@alice:bench.test',
    type: 'm.room.message',
    content: { msgtype: 'm.text', body },
    origin_server_ts: 1_700_000_000_000,
    depth: 12,
    prev_events: ['$9FPl1gIOeOuQ9GxVQ-gqVZrmHhVLg9oWhaNvBTSZGhk'],
    auth_events: [
      '$Wm9nhGz1kN8z6KpXPUHrUHvAOvqXkn7sEozYdVYV5ZM',
      '$k6fqiYUjqBG6a-7vAj4uT6CAdT0aQHjn7XGmjzmW4E0',
      '$tCHGQA4JrCv0Y4n1K9RQ0kQ3C5nv5bd5Qqs8C5Q7vLM',
    ],
    unsigned: { age: 1234 },
  };
}

let signed: JsonObject | undefined;
let publicKey: Uint8Array | undefined;

const canonicalBytes = (e: JsonObject) => new TextEncoder().encode(encodeCanonicalJson(e)).length;

async function fixture(): Promise<{ event: JsonObject; key: Uint8Array }> {
  publicKey ??= await webCryptoEd25519.publicKey(SEED);
  if (!signed) {
    const sign = (body: string) => signEvent(messageEvent(body), RULES, 'bench.test', 'ed25519:1', SEED, webCryptoEd25519);
    const base = canonicalBytes(await sign(''));
    signed = await sign(TEXT.slice(0, 1024 - base));
  }
  return { event: signed, key: publicKey };
}

/** The inbound-PDU hot path: canonical JSON + content hash check + one signature verification. */
async function verifyInbound(ed: Ed25519, iterations: number): Promise<number> {
  const { event, key } = await fixture();
  const expected = (event.hashes as JsonObject).sha256;
  let ok = 0;
  for (let i = 0; i < iterations; i++) {
    if (contentHash(event) !== expected) throw new Error('content hash mismatch');
    if (await verifyEventSignature(event, RULES, 'bench.test', 'ed25519:1', key, ed)) ok++;
  }
  if (ok !== iterations) throw new Error(`only ${ok}/${iterations} signatures verified`);
  return ok;
}

/** Parts of the path, to see where the time goes. */
async function canonicalOnly(iterations: number): Promise<number> {
  const { event } = await fixture();
  let n = 0;
  for (let i = 0; i < iterations; i++) n += encodeCanonicalJson(event).length;
  return n;
}

async function contentHashOnly(iterations: number): Promise<number> {
  const { event } = await fixture();
  let n = 0;
  for (let i = 0; i < iterations; i++) n += contentHash(event).length;
  return n;
}

async function verifyOnly(ed: Ed25519, iterations: number): Promise<number> {
  const { key } = await fixture();
  const msg = new Uint8Array(1024).fill(7);
  const sig = await ed.sign(SEED, msg);
  let ok = 0;
  for (let i = 0; i < iterations; i++) if (await ed.verify(key, msg, sig)) ok++;
  return ok;
}

const BENCHMARKS: Record<string, (iterations: number) => Promise<number>> = {
  canonical_json_1kib: canonicalOnly,
  content_hash_1kib: contentHashOnly,
  ed25519_verify_webcrypto: (n) => verifyOnly(webCryptoEd25519, n),
  ed25519_verify_noble: (n) => verifyOnly(nobleEd25519, n),
  inbound_event_verify_webcrypto: (n) => verifyInbound(webCryptoEd25519, n),
  inbound_event_verify_noble: (n) => verifyInbound(nobleEd25519, n),
  noop: async (n) => n,
};

/** The synthetic room per room version, built once per isolate by `/stateres/prepare`. */
const synthetic = new Map<string, { room: SyntheticRoom; rules: RoomVersionRules; json: string }>();

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/stateres/prepare') {
      const version = url.searchParams.get('version') ?? '12';
      const rules = getRoomVersionRules(version)!;
      const room = syntheticRoom(rules, Number(url.searchParams.get('members') ?? '28000'), Number(url.searchParams.get('changed') ?? '1000'));
      synthetic.set(version, { room, rules, json: JSON.stringify({ rules, state_sets: room.stateSets, events: room.events }) });
      return Response.json({ state_events: room.stateEvents, conflicted_keys: room.conflictedKeys });
    }
    if (url.pathname === '/stateres/run') {
      const s = synthetic.get(url.searchParams.get('version') ?? '12')!;
      // "objects": the whole call as the Room object makes it, serialisation included;
      // "wasm": the pre-serialised request, i.e. the crate's own time plus the copy in.
      const resolved =
        url.searchParams.get('mode') === 'wasm'
          ? matrixCore().callJson<unknown[]>('resolve_state', s.json)
          : resolveState(matrixCore(), { rules: s.rules, state_sets: s.room.stateSets, events: s.room.events });
      return Response.json({ resolved: resolved.length });
    }
    if (url.pathname === '/event-size') {
      const { event } = await fixture();
      return Response.json({ bytes: canonicalBytes(event) });
    }
    const { name, iterations } = (await request.json()) as { name: string; iterations: number };
    const bench = BENCHMARKS[name];
    if (!bench) return Response.json({ error: `no benchmark ${name}` }, { status: 404 });
    const checksum = await bench(iterations);
    return Response.json({ iterations, checksum });
  },
};
