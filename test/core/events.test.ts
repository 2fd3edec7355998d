import { describe, expect, it } from 'vitest';
import { parseJson, type JsonObject } from '../../core/canonical-json';
import { createNobleEd25519 } from '../../core/crypto/ed25519-noble';
import { signEvent, signJson, verifyEventSignature, verifyJsonSignature } from '../../core/crypto/signing';
import { computeEventId, contentHash, roomIdFromCreateEventId } from '../../core/events/hashes';
import { parsePdu } from '../../core/events/pdu';
import { redactEvent } from '../../core/events/redaction';
import { ALL_ROOM_VERSIONS, DEFAULT_ROOM_VERSION, getRoomVersionRules, KNOWN_ROOM_VERSIONS, type RoomVersionRules } from '../../core/room-versions';
import { hexToBytes } from '../../core/utf8';

const rules = (v: string): RoomVersionRules => {
  const r = getRoomVersionRules(v);
  if (!r) throw new Error(`no rules for ${v}`);
  return r;
};
const seed = hexToBytes('6090c103d5e7af6b15a970fd563ed75549e6159719ae5c3c31dee4316fb75c0d');
const ed = createNobleEd25519();

describe('room version table', () => {
  it('resolves extends chains into frozen rules', () => {
    expect(KNOWN_ROOM_VERSIONS).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12']);
    expect(ALL_ROOM_VERSIONS).toContain(DEFAULT_ROOM_VERSION);
    const v5 = rules('5');
    expect(v5.room_version).toBe('5');
    expect(v5.event_id_format).toBe('reference_hash_url_safe_base64');
    expect(v5.enforce_key_validity).toBe(true);
    expect(v5.redaction.preserved_content_keys['m.room.aliases']).toEqual(['aliases']);
    expect(Object.isFrozen(v5) && Object.isFrozen(v5.redaction.preserved_top_level_keys)).toBe(true);
    expect(getRoomVersionRules('13')).toBeUndefined();
  });
});

describe('redactEvent', () => {
  it('keeps nested third_party_invite.signed only where the rules say so', () => {
    const ev = parseJson('{"type":"m.room.member","content":{"membership":"invite","third_party_invite":{"display_name":"x","signed":{"token":"t"}}},"unsigned":{"age":1}}') as JsonObject;
    expect(redactEvent(ev, rules('11'))).toEqual({ type: 'm.room.member', content: { membership: 'invite', third_party_invite: { signed: { token: 't' } } } });
    expect(redactEvent(ev, rules('10'))).toEqual({ type: 'm.room.member', content: { membership: 'invite' } });
  });
  it('always emits content, never mutates the input, and copies deeply', () => {
    const ev: JsonObject = { type: 'm.room.create', content: { creator: '@a:b', x: [1] }, signatures: { s: { k: 'v' } } };
    const before = JSON.stringify(ev);
    const red = redactEvent(ev, rules('11'));
    expect(redactEvent({ type: 'x' }, rules('1'))).toEqual({ type: 'x', content: {} });
    (red.signatures as JsonObject).t = {};
    expect(JSON.stringify(ev)).toBe(before);
  });
});

describe('hashes and event IDs', () => {
  it('computes v12 create IDs and derives the room ID', async () => {
    const create = await signEvent({ type: 'm.room.create', state_key: '', sender: '@alice:domain', origin_server_ts: 1000000, content: { room_version: '12' }, prev_events: [], auth_events: [], depth: 1 }, rules('12'), 'domain', 'ed25519:1', seed, ed);
    const id = computeEventId(create, rules('12'));
    expect(id).toBe('$b3tOUX8xQBm1sCO5nM3_29t9zsIqsOly2d6sLXXi2Ps');
    expect(roomIdFromCreateEventId(id)).toBe('!b3tOUX8xQBm1sCO5nM3_29t9zsIqsOly2d6sLXXi2Ps');
    expect(() => roomIdFromCreateEventId('$abc:example.com')).toThrow(TypeError);
    expect(parsePdu(create, rules('12')).type).toBe('m.room.create');
    expect(() => parsePdu({ ...create, room_id: '!x:y' }, rules('12'))).toThrow(/room_id/);
    expect(() => parsePdu(create, rules('11'))).toThrow(/room_id/);
  });
  it('v1-v2 IDs come from the event_id field', () => {
    expect(computeEventId({ event_id: '$a:b', type: 't', content: {} }, rules('1'))).toBe('$a:b');
    expect(() => computeEventId({ type: 't', content: {} }, rules('2'))).toThrow(/event_id/);
  });
  it('content hash ignores unsigned, signatures and hashes', () => {
    const base: JsonObject = { type: 't', content: { a: 1 } };
    expect(contentHash({ ...base, unsigned: { x: 1 }, signatures: {}, hashes: { sha256: 'x' } })).toBe(contentHash(base));
  });
});

describe('signing', () => {
  const pub = hexToBytes('5c65f42514b601fddb7b7927cf67c18916c0a639b60e1eb58170c903c91c24d2');
  it('signJson does not mutate and verifies; wrong key/server fail', async () => {
    const input: JsonObject = { a: 1, unsigned: { u: 1 } };
    const signed = await signJson(input, 'domain', 'ed25519:1', seed, ed);
    expect(input).toEqual({ a: 1, unsigned: { u: 1 } });
    expect(signed.unsigned).toEqual({ u: 1 });
    expect(await verifyJsonSignature(signed, 'domain', 'ed25519:1', pub, ed)).toBe(true);
    expect(await verifyJsonSignature({ ...signed, unsigned: { changed: true } }, 'domain', 'ed25519:1', pub, ed)).toBe(true);
    expect(await verifyJsonSignature({ ...signed, a: 2 }, 'domain', 'ed25519:1', pub, ed)).toBe(false);
    expect(await verifyJsonSignature(signed, 'other', 'ed25519:1', pub, ed)).toBe(false);
    expect(await verifyJsonSignature(signed, 'domain', 'ed25519:2', pub, ed)).toBe(false);
    await expect(signJson(input, 'domain', 'rsa:1', seed, ed)).rejects.toThrow(TypeError);
  });
  it('event signatures survive redaction', async () => {
    const ev = await signEvent({ type: 'm.room.message', room_id: '!r:domain', sender: '@u:domain', origin_server_ts: 1, content: { body: 'hi' }, prev_events: [], auth_events: [], depth: 2 }, rules('11'), 'domain', 'ed25519:1', seed, ed);
    expect(await verifyEventSignature(ev, rules('11'), 'domain', 'ed25519:1', pub, ed)).toBe(true);
    expect(await verifyEventSignature(redactEvent(ev, rules('11')), rules('11'), 'domain', 'ed25519:1', pub, ed)).toBe(true);
    expect(await verifyEventSignature({ ...ev, sender: '@v:domain' }, rules('11'), 'domain', 'ed25519:1', pub, ed)).toBe(false);
  });
});
