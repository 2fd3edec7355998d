/**
 * Runner for `matrix-signing-hashing-vectors`: the spec signing key, JSON
 * signing (byte-exact), event signing, event IDs of real events, and derived
 * worked examples (incl. v12 room IDs). Uses ctx.ed25519 for all crypto.
 */
import { decodeBase64, encodeBase64 } from '../../../core/base64';
import { encodeCanonicalJson, isJsonObject, type JsonObject } from '../../../core/canonical-json';
import type { Ed25519 } from '../../../core/crypto/ed25519';
import { signEvent, signJson, signingInput, verifyEventSignature, verifyJsonSignature } from '../../../core/crypto/signing';
import { computeEventId, contentHash, contentHashInput, referenceHash, referenceHashInput, roomIdFromCreateEventId } from '../../../core/events/hashes';
import { getRoomVersionRules, type RoomVersionRules } from '../../../core/room-versions';
import { redactEvent } from '../../../core/events/redaction';
import { bytesToHex, hexToBytes, utf8Encode } from '../../../core/utf8';
import type { CaseResult, VectorFormat } from '../types';
import { caseId, type Checks, listOf, obj, recogniseBy, runCase, str } from './core-vector-helpers';

type Key = { seed: Uint8Array; publicKey: Uint8Array; server: string; keyId: string };

function rulesFor(rv: unknown): RoomVersionRules {
  const rules = getRoomVersionRules(str(rv, 'room version'));
  if (!rules) throw new TypeError(`unknown room version ${String(rv)}`);
  return rules;
}

/** Compares produced bytes with an expected text by its UTF-8 bytes (shown as hex on failure). */
function equalBytes(check: Checks, actual: Uint8Array, expectedText: string, what: string): void {
  check.equal(bytesToHex(actual), bytesToHex(utf8Encode(expectedText)), what);
}

async function loadKey(file: JsonObject, ed: Ed25519): Promise<Key> {
  const k = obj(file.signing_key, 'signing_key');
  const seedText = k.seed_base64_as_printed ?? k.seed_base64_canonical ?? k.seed_base64;
  const seed = typeof seedText === 'string' ? decodeBase64(seedText) : hexToBytes(str(k.seed_hex, 'signing_key.seed_hex'));
  return {
    seed,
    publicKey: await ed.publicKey(seed),
    server: str(k.server_name, 'signing_key.server_name'),
    keyId: str(k.key_id, 'signing_key.key_id'),
  };
}

async function checkSigningKey(file: JsonObject, key: Key, check: Checks): Promise<void> {
  const k = obj(file.signing_key, 'signing_key');
  for (const field of ['seed_base64_as_printed', 'seed_base64_canonical', 'seed_base64']) {
    if (typeof k[field] === 'string') check.equal(bytesToHex(decodeBase64(k[field])), bytesToHex(key.seed), `${field} decodes to the seed`);
  }
  if (typeof k.seed_hex === 'string') check.equal(bytesToHex(key.seed), k.seed_hex.toLowerCase(), 'seed_hex');
  if (typeof k.public_key_base64 === 'string') check.equal(encodeBase64(key.publicKey), k.public_key_base64, 'public key');
}

/** Signs `input` as an event under `rules` and checks every expectation present. */
async function checkSignedEvent(
  input: JsonObject, expected: JsonObject | undefined, rules: RoomVersionRules, key: Key, ed: Ed25519, check: Checks, intermediate: JsonObject | undefined,
): Promise<JsonObject> {
  const signed = await signEvent(input, rules, key.server, key.keyId, key.seed, ed);
  if (expected) check.equal(signed, expected, 'signed event');
  if (intermediate) {
    if (typeof intermediate.content_hash_input_canonical_json === 'string') {
      equalBytes(check, contentHashInput(input), intermediate.content_hash_input_canonical_json, 'content hash input');
    }
    if (typeof intermediate.content_hash_sha256_base64 === 'string') check.equal(contentHash(input), intermediate.content_hash_sha256_base64, 'content hash');
    if (typeof intermediate.signing_input_canonical_json === 'string') {
      equalBytes(check, signingInput(redactEvent(signed, rules)), intermediate.signing_input_canonical_json, 'signing input');
    }
  }
  const target = expected ?? signed;
  check.expect(await verifyEventSignature(target, rules, key.server, key.keyId, key.publicKey, ed), 'expected event does not verify');
  return signed;
}

async function runJsonSigning(c: JsonObject, key: Key, ed: Ed25519, check: Checks): Promise<void> {
  const input = obj(c.input, 'input');
  const signed = await signJson(input, key.server, key.keyId, key.seed, ed);
  check.equal(signed, obj(c.expected_signed, 'expected_signed'), 'signed JSON');
  if (typeof c.signing_input_canonical_json === 'string') equalBytes(check, signingInput(input), c.signing_input_canonical_json, 'signing input');
  check.expect(await verifyJsonSignature(obj(c.expected_signed, 'expected_signed'), key.server, key.keyId, key.publicKey, ed), 'expected_signed does not verify');
  // A signature must not survive a change to the signed content.
  const tampered = { ...signed, tampered_by_vector_runner: true };
  check.expect(!(await verifyJsonSignature(tampered, key.server, key.keyId, key.publicKey, ed)), 'tampered object still verifies');
}

async function runEventIds(c: JsonObject, check: Checks): Promise<void> {
  const event = typeof c.event_json_text === 'string' ? obj(JSON.parse(c.event_json_text), 'event_json_text') : obj(c.event, 'event');
  if (c.event !== undefined) check.equal(event, c.event, 'event_json_text parses to event');
  const hashCheck = c.content_hash_check;
  if (isJsonObject(hashCheck)) {
    const computed = contentHash(event);
    if (typeof hashCheck.computed === 'string') check.equal(computed, hashCheck.computed, 'content hash');
    const hashes = event.hashes;
    if (typeof hashCheck.matches_event_hashes_sha256 === 'boolean' && isJsonObject(hashes)) {
      check.equal(computed === hashes.sha256, hashCheck.matches_event_hashes_sha256, 'content hash matches hashes.sha256');
    }
  }
  const expected = obj(c.expected, 'expected');
  check.expect(Object.keys(expected).length > 0, 'case has no expected IDs');
  for (const [rv, id] of Object.entries(expected)) {
    const rules = rulesFor(rv);
    check.equal(computeEventId(event, rules), id, `event ID under room v${rv}`);
    // The hash input is stated once; it applies to every hash-based version listed.
    if (rules.event_id_format === 'event_id_field') continue;
    if (typeof c.reference_hash_input_canonical_json === 'string') {
      check.equal(encodeCanonicalJson(referenceHashInput(event, rules)), c.reference_hash_input_canonical_json, `reference hash input (v${rv})`);
    }
    if (typeof c.reference_hash_sha256_hex === 'string') check.equal(bytesToHex(referenceHash(event, rules)), c.reference_hash_sha256_hex.toLowerCase(), `reference hash (v${rv})`);
  }
}

async function runWorkedExample(c: JsonObject, key: Key, ed: Ed25519, check: Checks): Promise<void> {
  const rules = rulesFor(c.room_version);
  const steps = listOf(c, 'steps');
  check.expect(steps.length > 0, 'example has no steps');
  for (const [i, s] of steps.entries()) {
    const step = obj(s, `steps[${i}]`);
    const name = typeof step.name === 'string' ? step.name : `step ${i}`;
    const expected = step.signed_event === undefined ? undefined : obj(step.signed_event, 'signed_event');
    const input = obj(step.unsigned_input ?? step.signed_event, 'unsigned_input');
    const signed = await checkSignedEvent(input, expected, rules, key, ed, check, undefined);
    const event = expected ?? signed;
    if (typeof step.reference_hash_input_canonical_json === 'string') {
      check.equal(encodeCanonicalJson(referenceHashInput(event, rules)), step.reference_hash_input_canonical_json, `${name}: reference hash input`);
    }
    const id = computeEventId(event, rules);
    if (step.event_id !== undefined) check.equal(id, step.event_id, `${name}: event ID`);
    if (step.room_id !== undefined) {
      const roomId = rules.room_id_is_create_event_hash ? roomIdFromCreateEventId(id) : event.room_id;
      check.equal(roomId, step.room_id, `${name}: room ID`);
    }
  }
}

export const format: VectorFormat = {
  name: 'signing-and-hashing',
  recognise: (fileName, json) => recogniseBy('matrix-signing-hashing-vectors', fileName, json, ['signing_and_hashing.json']),
  async run(json, ctx) {
    const file = obj(json, 'vector file');
    const ed = ctx.ed25519;
    const results: CaseResult[] = [];
    let key: Key;
    try {
      key = await loadKey(file, ed);
    } catch (e) {
      return [{ id: 'signing_key', ok: false, detail: `cannot load signing key: ${(e as Error).message}` }];
    }
    results.push(await runCase('signing_key', (check) => checkSigningKey(file, key, check)));
    for (const [i, c] of listOf(file, 'json_signing').entries()) {
      results.push(await runCase(caseId(c, `json_signing[${i}]`), (check) => runJsonSigning(obj(c, 'case'), key, ed, check)));
    }
    for (const [i, c] of listOf(file, 'event_signing').entries()) {
      results.push(await runCase(caseId(c, `event_signing[${i}]`), async (check) => {
        const o = obj(c, 'case');
        const rules = rulesFor(o.room_version_redaction_rules ?? o.room_version);
        const inter = isJsonObject(o.intermediate) ? o.intermediate : undefined;
        await checkSignedEvent(obj(o.input, 'input'), obj(o.expected_output, 'expected_output'), rules, key, ed, check, inter);
      }));
    }
    for (const [i, c] of listOf(file, 'event_ids').entries()) {
      results.push(await runCase(caseId(c, `event_ids[${i}]`), (check) => runEventIds(obj(c, 'case'), check)));
    }
    for (const [i, c] of listOf(file, 'derived_worked_examples').entries()) {
      results.push(await runCase(caseId(c, `derived_worked_examples[${i}]`), (check) => runWorkedExample(obj(c, 'case'), key, ed, check)));
    }
    return results;
  },
};
