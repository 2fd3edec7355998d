import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../core/base64';
import type { JsonObject } from '../../core/canonical-json';
import { createNobleEd25519 } from '../../core/crypto/ed25519-noble';
import { signJson } from '../../core/crypto/signing';
import { serverAclAllows } from '../../core/federation/acl';
import { checkKeyResponse, keyUsableAt, MAX_KEY_VALIDITY_MS, requiredSigners } from '../../core/federation/server-keys';
import { getRoomVersionRules, type RoomVersionRules } from '../../core/room-versions';

const ed = createNobleEd25519();
const seedA = new Uint8Array(32).fill(1);
const seedB = new Uint8Array(32).fill(2);
const rules = (v: string) => getRoomVersionRules(v) as RoomVersionRules;

async function keyResponse(overrides: JsonObject = {}, signWith: [string, Uint8Array][] = [['ed25519:a', seedA]]): Promise<JsonObject> {
  let body: JsonObject = {
    server_name: 'remote.test',
    verify_keys: { 'ed25519:a': { key: encodeBase64(await ed.publicKey(seedA)) } },
    old_verify_keys: { 'ed25519:old': { key: encodeBase64(await ed.publicKey(seedB)), expired_ts: 1000 } },
    valid_until_ts: 5_000,
    ...overrides,
  };
  for (const [keyId, seed] of signWith) body = await signJson(body, 'remote.test', keyId, seed, ed);
  return body;
}

describe('server key responses (spec "Retrieving server keys")', () => {
  it('accepts a self-signed response and keeps current and old keys with their validity', async () => {
    const checked = await checkKeyResponse(await keyResponse(), 'remote.test', 0, ed);
    expect(checked).toMatchObject({ ok: true, valid_until_ts: 5_000 });
    if (!checked.ok) return;
    expect(checked.keys.map((k) => [k.key_id, k.valid_until_ts, k.expired_ts])).toEqual([['ed25519:a', 5_000, null], ['ed25519:old', 1000, 1000]]);
  });

  it('caps validity at seven days from now', async () => {
    const checked = await checkKeyResponse(await keyResponse({ valid_until_ts: 10 * MAX_KEY_VALIDITY_MS }), 'remote.test', 1_000, ed);
    expect(checked.ok && checked.valid_until_ts).toBe(1_000 + MAX_KEY_VALIDITY_MS);
  });

  it('refuses responses for another server, unsigned by a listed key, or without keys', async () => {
    expect((await checkKeyResponse(await keyResponse(), 'other.test', 0, ed)).ok).toBe(false);
    expect((await checkKeyResponse(await keyResponse({}, [['ed25519:a', seedB]]), 'remote.test', 0, ed)).ok).toBe(false);
    const twoKeys = { verify_keys: { 'ed25519:a': { key: encodeBase64(await ed.publicKey(seedA)) }, 'ed25519:b': { key: encodeBase64(await ed.publicKey(seedB)) } } };
    expect((await checkKeyResponse(await keyResponse(twoKeys), 'remote.test', 0, ed)).ok).toBe(false);
    expect((await checkKeyResponse(await keyResponse(twoKeys, [['ed25519:a', seedA], ['ed25519:b', seedB]]), 'remote.test', 0, ed)).ok).toBe(true);
    expect((await checkKeyResponse(await keyResponse({ verify_keys: {} }, []), 'remote.test', 0, ed)).ok).toBe(false);
    expect((await checkKeyResponse(await keyResponse({ verify_keys: { 'ed25519:a': { key: 'short' } } }), 'remote.test', 0, ed)).ok).toBe(false);
  });

  it('uses a key only while it is valid for the time asked about', () => {
    expect(keyUsableAt({ valid_until_ts: 100, expired_ts: null }, 100)).toBe(true);
    expect(keyUsableAt({ valid_until_ts: 100, expired_ts: null }, 101)).toBe(false);
    expect(keyUsableAt({ valid_until_ts: 100, expired_ts: 100 }, 100)).toBe(false);
    expect(keyUsableAt({ valid_until_ts: 100, expired_ts: 100 }, 99)).toBe(true);
    expect(keyUsableAt({ valid_until_ts: 1, expired_ts: null }, undefined)).toBe(true);
  });
});

describe('required signers (spec "Validating hashes and signatures on received events")', () => {
  it('is the sender server, plus the event ID server in v1 and the authorising server of restricted joins', () => {
    expect(requiredSigners({ sender: '@a:one.test', event_id: '$x:two.test' }, rules('1')).sort()).toEqual(['one.test', 'two.test']);
    expect(requiredSigners({ sender: '@a:one.test', event_id: '$x:two.test' }, rules('4'))).toEqual(['one.test']);
    const join = { type: 'm.room.member', sender: '@a:one.test', content: { membership: 'join', join_authorised_via_users_server: '@b:three.test' } };
    expect(requiredSigners(join, rules('8')).sort()).toEqual(['one.test', 'three.test']);
    expect(requiredSigners(join, rules('7'))).toEqual(['one.test']);
  });
});

describe('server ACLs (spec "Server Access Control Lists")', () => {
  it('denies before it allows, ignores ports, matches globs case-insensitively, and may refuse IP literals', () => {
    const acl = { allow: ['*'], deny: ['*.evil.test', 'bad?.test'], allow_ip_literals: false };
    expect(serverAclAllows(acl, 'good.test:8448')).toBe(true);
    expect(serverAclAllows(acl, 'x.EVIL.test')).toBe(false);
    expect(serverAclAllows(acl, 'bad1.test')).toBe(false);
    expect(serverAclAllows(acl, 'bad12.test')).toBe(true);
    expect(serverAclAllows(acl, '1.2.3.4')).toBe(false);
    expect(serverAclAllows(acl, '[::1]:8448')).toBe(false);
    expect(serverAclAllows({ allow: ['*'] }, '1.2.3.4')).toBe(true);
    expect(serverAclAllows({ deny: [] }, 'any.test')).toBe(false);
    expect(serverAclAllows(undefined, 'any.test')).toBe(true);
    expect(serverAclAllows({ allow: ['a.test'] }, 'a.test')).toBe(true);
    expect(serverAclAllows({ allow: ['a.test'] }, 'aXtest')).toBe(false);
  });
});
