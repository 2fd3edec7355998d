/**
 * Server-Server request authentication and keys, against a real instance and a stand-in remote
 * server with its own key (federation-harness.ts): X-Matrix signatures verified with the
 * origin's fetched key, wrong keys, destinations and missing headers refused, and this server
 * acting as a notary for another server's keys.
 */
import { describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../core/base64';
import { isJsonObject, type JsonObject } from '../../core/canonical-json';
import { createNobleEd25519 } from '../../core/crypto/ed25519-noble';
import { verifyJsonSignature } from '../../core/crypto/signing';
import { responseValidator } from './openapi';
import { useFakeServer } from './spec-client';

const HS = 'hs1.test';
const server = useFakeServer(HS, 'fake.test');

async function register(username: string): Promise<string> {
  const res = await fetch(`${server.hs().base}/_matrix/client/v3/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password: 'a good long password', auth: { type: 'm.login.dummy' } }),
  });
  const body = (await res.json()) as { user_id: string; access_token: string };
  await fetch(`${server.hs().base}/_matrix/client/v3/profile/${encodeURIComponent(body.user_id)}/displayname`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${body.access_token}` },
    body: JSON.stringify({ displayname: 'Alice Liddell' }),
  });
  return body.user_id;
}

const keyOf = (response: JsonObject, keyId: string) => {
  const keys = response.verify_keys;
  const entry = isJsonObject(keys) ? keys[keyId] : undefined;
  return isJsonObject(entry) && typeof entry.key === 'string' ? decodeBase64(entry.key) : new Uint8Array();
};

describe('X-Matrix request authentication', { timeout: 60_000 }, () => {
  it('accepts a request signed with the origin key it fetches, and refuses forged, misaddressed or unsigned ones', async () => {
    const alice = await register('alice');
    const uri = `/_matrix/federation/v1/query/profile?user_id=${encodeURIComponent(alice)}`;
    const good = await server.fake().send(server.hs().base, HS, 'GET', uri);
    expect(good.status).toBe(200);
    responseValidator('server-server', 'get', '/_matrix/federation/v1/query/profile', 200)(good.body);
    expect(good.body).toEqual({ displayname: 'Alice Liddell' });
    const field = await server.fake().send(server.hs().base, HS, 'GET', `${uri}&field=avatar_url`);
    expect(field).toEqual({ status: 200, body: {} });

    for (const sign of ['wrong-key', 'wrong-destination', 'none'] as const) {
      const res = await server.fake().send(server.hs().base, HS, 'GET', uri, undefined, { sign });
      expect(res.status, sign).toBe(401);
      expect(res.body.errcode, sign).toBe('M_UNAUTHORIZED');
    }
    // An Authorization header that is not X-Matrix at all.
    const res = await fetch(`${server.hs().base}${uri}`, { headers: { Authorization: '' } });
    expect(res.status).toBe(401);
  });

  it('answers 404 for unknown users and aliases, and 400 for malformed ones', async () => {
    expect((await server.fake().send(server.hs().base, HS, 'GET', `/_matrix/federation/v1/query/profile?user_id=${encodeURIComponent('@nobody:hs1.test')}`)).status).toBe(404);
    expect((await server.fake().send(server.hs().base, HS, 'GET', '/_matrix/federation/v1/query/profile?user_id=nope')).status).toBe(400);
    expect((await server.fake().send(server.hs().base, HS, 'GET', `/_matrix/federation/v1/query/directory?room_alias=${encodeURIComponent('#none:hs1.test')}`)).status).toBe(404);
  });
});

describe('notary key queries', { timeout: 60_000 }, () => {
  const ed = createNobleEd25519();

  it("serves another server's keys as it published them, countersigned, and its own", async () => {
    const res = await fetch(`${server.hs().base}/_matrix/key/v2/query`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ server_keys: { [server.fake().serverName]: { [server.fake().keyId]: { minimum_valid_until_ts: Date.now() } }, [HS]: {} } }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { server_keys: JsonObject[] };
    responseValidator('server-server', 'post', '/_matrix/key/v2/query', 200)(body);
    const theirs = body.server_keys.find((k) => k.server_name === server.fake().serverName)!;
    const ours = body.server_keys.find((k) => k.server_name === HS)!;
    expect(await verifyJsonSignature(theirs, server.fake().serverName, server.fake().keyId, keyOf(theirs, server.fake().keyId), ed)).toBe(true);
    const ownKeyId = Object.keys(ours.verify_keys as JsonObject)[0]!;
    const ownKey = keyOf(ours, ownKeyId);
    expect(await verifyJsonSignature(ours, HS, ownKeyId, ownKey, ed)).toBe(true);
    // The notary's countersignature on the other server's keys.
    expect(await verifyJsonSignature(theirs, HS, ownKeyId, ownKey, ed)).toBe(true);

    const single = await fetch(`${server.hs().base}/_matrix/key/v2/query/${server.fake().serverName}`);
    const singleBody = (await single.json()) as { server_keys: JsonObject[] };
    responseValidator('server-server', 'get', '/_matrix/key/v2/query/{serverName}', 200)(singleBody);
    expect(singleBody.server_keys.map((k) => k.server_name)).toEqual([server.fake().serverName]);
    // A server that cannot be reached has no keys to give.
    const unknown = await fetch(`${server.hs().base}/_matrix/key/v2/query/unreachable.invalid`);
    expect(await unknown.json()).toEqual({ server_keys: [] });
  });
});
