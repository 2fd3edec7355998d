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

const SEED = decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0');
const RULES = getRoomVersionRules('12') as RoomVersionRules;

/** A message event whose canonical form is about 1 KiB, as a typical chat PDU with some text. */
function oneKibEvent(): JsonObject {
  const body = 'The quick brown fox jumps over the lazy dog. '.repeat(14);
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

async function fixture(): Promise<{ event: JsonObject; key: Uint8Array }> {
  publicKey ??= await webCryptoEd25519.publicKey(SEED);
  signed ??= await signEvent(oneKibEvent(), RULES, 'bench.test', 'ed25519:1', SEED, webCryptoEd25519);
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

const BENCHMARKS: Record<string, (iterations: number) => Promise<number>> = {
  inbound_event_verify_webcrypto: (n) => verifyInbound(webCryptoEd25519, n),
  inbound_event_verify_noble: (n) => verifyInbound(nobleEd25519, n),
  noop: async (n) => n,
};

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/event-size') {
      const { event } = await fixture();
      return Response.json({ bytes: new TextEncoder().encode(encodeCanonicalJson(event)).length });
    }
    const { name, iterations } = (await request.json()) as { name: string; iterations: number };
    const bench = BENCHMARKS[name];
    if (!bench) return Response.json({ error: `no benchmark ${name}` }, { status: 404 });
    const checksum = await bench(iterations);
    return Response.json({ iterations, checksum });
  },
};
