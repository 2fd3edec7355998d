/** Runs the shared vectors through the same format modules as `npm run vectors`. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createNobleEd25519 } from '../../core/crypto/ed25519-noble';
import { createWebCryptoEd25519 } from '../../core/crypto/ed25519-webcrypto';
import { format as canonicalJson } from '../vectors/formats/canonical-json';
import { format as redaction } from '../vectors/formats/redaction';
import { format as roomVersions } from '../vectors/formats/room-versions';
import { format as signingAndHashing } from '../vectors/formats/signing-and-hashing';
import type { VectorFormat } from '../vectors/types';
import { MatrixCore } from '../../wasm/index';

const VECTORS = new URL('../../../shared/vectors/', import.meta.url);
const load = (name: string): unknown => JSON.parse(readFileSync(new URL(name, VECTORS), 'utf8'));

const core = new MatrixCore(new WebAssembly.Module(readFileSync(new URL('../../wasm/matrix_core.wasm', import.meta.url))));
const implementations = { webcrypto: createWebCryptoEd25519(), noble: createNobleEd25519() };
const files: ReadonlyArray<[string, VectorFormat]> = [
  ['canonical_json.json', canonicalJson],
  ['signing_and_hashing.json', signingAndHashing],
  ['redaction.json', redaction],
  ['room_versions.json', roomVersions],
];

describe.each(Object.entries(implementations))('shared vectors with %s ed25519', (_, ed25519) => {
  it.each(files)('%s', async (name, fmt) => {
    const json = load(name);
    expect(fmt.recognise(name, json)).toBe(true);
    const results = await fmt.run(json, { ed25519, core });
    expect(results.length).toBeGreaterThan(0);
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
});

describe('format recognition', () => {
  it('each module claims only its own file', () => {
    for (const [name] of files) {
      const json = load(name);
      const claimed = files.filter(([, f]) => f.recognise(name, json)).map(([n]) => n);
      expect(claimed).toEqual([name]);
    }
    expect(files.some(([, f]) => f.recognise('state_resolution_v2.json', load('state_resolution_v2.json')))).toBe(false);
    expect(files.some(([, f]) => f.recognise('event_auth.json', load('event_auth.json')))).toBe(false);
  });
});
