/**
 * Federation endpoints besides the event DAG, against a real instance and a stand-in remote
 * server (federation-harness.ts): the client side of remote profiles, aliases and room
 * directories (the fake answers the queries), and this server's published rooms, space
 * hierarchy, devices, keys, OpenID userinfo and third-party invite exchange (the fake asks,
 * signing its requests). Every response is checked against the spec's OpenAPI schemas.
 */
import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../core/base64';
import { createNobleEd25519 } from '../../core/crypto/ed25519-noble';
import { signJson } from '../../core/crypto/signing';
import { responseValidator } from './openapi';
import { specClient, useFakeServer } from './spec-client';

const HS = 'hs1.test';
const server = useFakeServer(HS, 'fake.test');

const { request, register } = specClient(server.hs);
const enc = encodeURIComponent;
let counter = 0;
const unique = (p: string) => `${p}${Date.now().toString(36)}${counter++}`;

/** A signed federation request from the fake, its answer checked against the server-server spec. */
async function federation(method: string, template: string, uri: string, expectStatus: number, body?: Record<string, unknown>) {
  const res = await server.fake().send(server.hs().base, HS, method, uri, body as never);
  expect(res.status, `${method} ${uri}: ${JSON.stringify(res.body)}`).toBe(expectStatus);
  if (expectStatus === 200) responseValidator('server-server', method.toLowerCase(), template, 200)(res.body);
  else expect(res.body.errcode).toMatch(/^M_/);
  return res.body;
}

async function createRoom(token: string, body: Record<string, unknown>): Promise<string> {
  return (await request('POST', '/_matrix/client/v3/createRoom', { token, body, expect: 200 })).room_id;
}

async function putState(token: string, roomId: string, type: string, stateKey: string, content: Record<string, unknown>) {
  const template = '/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}';
  await request('PUT', template, { path: `/_matrix/client/v3/rooms/${enc(roomId)}/state/${type}/${enc(stateKey)}`, token, body: content, expect: 200 });
}

describe('client lookups on other servers', { timeout: 60_000 }, () => {
  it('asks the user\'s server for profiles (signed), 404 when it says so, 502 when it fails', async () => {
    server.fake().handle('GET', /^\/_matrix\/federation\/v1\/query\/profile$/, (req) => {
      const q = new URL(req.uri, 'http://x').searchParams;
      if (q.get('user_id') === '@broken:fake.test') return { status: 500, body: { errcode: 'M_UNKNOWN', error: 'oops' } };
      if (q.get('user_id') !== '@rita:fake.test') return { status: 404, body: { errcode: 'M_NOT_FOUND', error: 'no such user' } };
      const profile = { displayname: 'Remote Rita', avatar_url: 'mxc://fake.test/rita', 'org.example.colour': 'teal' };
      const field = q.get('field') as keyof typeof profile | null;
      return { body: field ? { [field]: profile[field] } : profile };
    });
    const full = await request('GET', '/_matrix/client/v3/profile/{userId}', { path: `/_matrix/client/v3/profile/${enc('@rita:fake.test')}`, expect: 200 });
    expect(full).toEqual({ displayname: 'Remote Rita', avatar_url: 'mxc://fake.test/rita', 'org.example.colour': 'teal' });
    const asked = server.fake().requests.filter((r) => r.uri.startsWith('/_matrix/federation/v1/query/profile'));
    expect(asked.at(-1)).toMatchObject({ origin: HS, verified: true });

    const KEY = '/_matrix/client/v3/profile/{userId}/{keyName}';
    const name = await request('GET', KEY, { path: `/_matrix/client/v3/profile/${enc('@rita:fake.test')}/displayname`, expect: 200 });
    expect(name).toEqual({ displayname: 'Remote Rita' });
    expect(server.fake().requests.at(-1)!.uri).toContain('field=displayname');
    const colour = await request('GET', KEY, { path: `/_matrix/client/v3/profile/${enc('@rita:fake.test')}/org.example.colour`, expect: 200 });
    expect(colour).toEqual({ 'org.example.colour': 'teal' });
    await request('GET', KEY, { path: `/_matrix/client/v3/profile/${enc('@rita:fake.test')}/m.tz`, expect: 404 });

    await request('GET', '/_matrix/client/v3/profile/{userId}', { path: `/_matrix/client/v3/profile/${enc('@nobody:fake.test')}`, expect: 404 });
    const failed = await request('GET', '/_matrix/client/v3/profile/{userId}', { path: `/_matrix/client/v3/profile/${enc('@broken:fake.test')}`, expect: 502 });
    expect(failed.errcode).toBe('M_UNKNOWN');
  });

  it('resolves remote aliases through their server: 404 and malformed answers too', async () => {
    server.fake().handle('GET', /^\/_matrix\/federation\/v1\/query\/directory$/, (req) => {
      const alias = new URL(req.uri, 'http://x').searchParams.get('room_alias');
      if (alias === '#lobby:fake.test') return { body: { room_id: '!lobby:fake.test', servers: ['fake.test', 'other.test', 'fake.test'] } };
      if (alias === '#garbled:fake.test') return { body: { room_id: 'not a room', servers: [] } };
      return { status: 404, body: { errcode: 'M_NOT_FOUND', error: 'Room alias not found.' } };
    });
    const T = '/_matrix/client/v3/directory/room/{roomAlias}';
    const found = await request('GET', T, { path: `/_matrix/client/v3/directory/room/${enc('#lobby:fake.test')}`, expect: 200 });
    expect(found).toEqual({ room_id: '!lobby:fake.test', servers: ['fake.test', 'other.test'] });
    expect(server.fake().requests.at(-1)).toMatchObject({ origin: HS, verified: true });
    expect(new URL(server.fake().requests.at(-1)!.uri, 'http://x').searchParams.get('room_alias')).toBe('#lobby:fake.test');
    await request('GET', T, { path: `/_matrix/client/v3/directory/room/${enc('#nowhere:fake.test')}`, expect: 404 });
    await request('GET', T, { path: `/_matrix/client/v3/directory/room/${enc('#garbled:fake.test')}`, expect: 502 });
  });

  it('lists another server\'s published rooms with `server`', async () => {
    const chunk = [{ room_id: '!big:fake.test', num_joined_members: 9, world_readable: false, guest_can_join: false, name: 'Big' }];
    server.fake().handle('GET', /^\/_matrix\/federation\/v1\/publicRooms$/, () => ({ body: { chunk, total_room_count_estimate: 1 } }));
    server.fake().handle('POST', /^\/_matrix\/federation\/v1\/publicRooms$/, (req) => ({ body: { chunk: (req.body as { filter?: unknown }).filter ? [] : chunk } }));
    const listed = await request('GET', '/_matrix/client/v3/publicRooms', { path: '/_matrix/client/v3/publicRooms?server=fake.test&limit=5', expect: 200 });
    expect(listed.chunk).toEqual(chunk);
    expect(server.fake().requests.at(-1)!.uri).toBe('/_matrix/federation/v1/publicRooms?limit=5');
    const alice = await register(unique('lister'));
    const filtered = await request('POST', '/_matrix/client/v3/publicRooms', {
      path: '/_matrix/client/v3/publicRooms?server=fake.test', token: alice.access_token, body: { filter: { generic_search_term: 'x' } }, expect: 200,
    });
    expect(filtered.chunk).toEqual([]);
    expect(server.fake().requests.at(-1)!.body).toEqual({ filter: { generic_search_term: 'x' } });
  });
});

describe('this server\'s directory and spaces over federation', { timeout: 60_000 }, () => {
  it('serves the published rooms (GET and POST with a filter)', async () => {
    const alice = await register(unique('pub'));
    const name = unique('Federated lounge ');
    const roomId = await createRoom(alice.access_token, { preset: 'public_chat', name, visibility: 'public' });
    const listed = await federation('GET', '/_matrix/federation/v1/publicRooms', '/_matrix/federation/v1/publicRooms?limit=100', 200);
    expect(listed.chunk).toContainEqual(expect.objectContaining({ room_id: roomId, name, num_joined_members: 1, join_rule: 'public' }));
    const found = await federation('POST', '/_matrix/federation/v1/publicRooms', '/_matrix/federation/v1/publicRooms', 200, { filter: { generic_search_term: name } });
    expect(found.chunk.map((r: { room_id: string }) => r.room_id)).toEqual([roomId]);
    const none = await federation('POST', '/_matrix/federation/v1/publicRooms', '/_matrix/federation/v1/publicRooms', 200, { filter: { generic_search_term: unique('nothing-') } });
    expect(none.chunk).toEqual([]);
    // Unsigned requests are refused.
    expect((await server.fake().send(server.hs().base, HS, 'GET', '/_matrix/federation/v1/publicRooms', undefined, { sign: 'none' })).status).toBe(401);
  });

  it('walks a space for clients and servers: access rules, suggested_only, max_depth, paging, remote children', async () => {
    const alice = await register(unique('spacer'));
    const bob = await register(unique('visitor'));
    const A = alice.access_token;
    const space = await createRoom(A, { preset: 'public_chat', name: 'The space', creation_content: { type: 'm.space' } });
    const open = await createRoom(A, { preset: 'public_chat', name: 'Open child' });
    const closed = await createRoom(A, { preset: 'private_chat', name: 'Closed child' });
    const grandchild = await createRoom(A, { preset: 'public_chat', name: 'Grandchild' });
    await putState(A, space, 'm.space.child', open, { via: [HS], order: 'b' });
    await putState(A, space, 'm.space.child', closed, { via: [HS], order: 'a', suggested: true });
    await putState(A, space, 'm.space.child', '!remote:fake.test', { via: ['fake.test'] });
    // Not a child: no `via`.
    await putState(A, space, 'm.space.child', '!ignored:fake.test', {});
    await putState(A, open, 'm.space.child', grandchild, { via: [HS] });

    server.fake().handle('GET', /^\/_matrix\/federation\/v1\/hierarchy\/(.+)$/, (_req, m) => {
      if (decodeURIComponent(m[1]!) !== '!remote:fake.test') return { status: 404, body: { errcode: 'M_NOT_FOUND', error: 'unknown' } };
      return { body: { room: { room_id: '!remote:fake.test', name: 'Remote child', num_joined_members: 3, world_readable: false, guest_can_join: false, join_rule: 'public', children_state: [] }, children: [], inaccessible_children: [] } };
    });

    const C = '/_matrix/client/v1/rooms/{roomId}/hierarchy';
    const path = (q = '') => `/_matrix/client/v1/rooms/${enc(space)}/hierarchy${q}`;
    const ids = (body: { rooms: { room_id: string }[] }) => body.rooms.map((r) => r.room_id);

    // Alice is in every room: depth first in spec order (`order` "a" before "b", then none).
    const all = await request('GET', C, { path: path(), token: A, expect: 200 });
    expect(ids(all)).toEqual([space, closed, open, grandchild, '!remote:fake.test']);
    expect(all.rooms[0]).toMatchObject({ room_type: 'm.space', name: 'The space', num_joined_members: 1 });
    expect(all.rooms[0].children_state.map((e: { state_key: string }) => e.state_key)).toEqual([closed, open, '!remote:fake.test']);
    expect(all.rooms[0].children_state[0]).toEqual(expect.objectContaining({ type: 'm.space.child', sender: alice.user_id, origin_server_ts: expect.any(Number) }));
    expect(server.fake().requests.some((r) => r.uri.startsWith(`/_matrix/federation/v1/hierarchy/${enc('!remote:fake.test')}`) && r.verified)).toBe(true);

    // Bob sees the open rooms only; the closed child is neither open nor his.
    const bobs = await request('GET', C, { path: path(), token: bob.access_token, expect: 200 });
    expect(ids(bobs)).toEqual([space, open, grandchild, '!remote:fake.test']);
    const suggested = await request('GET', C, { path: path('?suggested_only=true'), token: A, expect: 200 });
    expect(ids(suggested)).toEqual([space, closed]);
    const shallow = await request('GET', C, { path: path('?max_depth=0'), token: A, expect: 200 });
    expect(ids(shallow)).toEqual([space]);

    // Paging: two rooms at a time, the same walk in the end; the token pins suggested_only.
    const seen: string[] = [];
    let from: string | undefined;
    do {
      const page = await request('GET', C, { path: path(`?limit=2${from ? `&from=${enc(from)}` : ''}`), token: A, expect: 200 });
      expect(page.rooms.length).toBeLessThanOrEqual(2);
      seen.push(...ids(page));
      from = page.next_batch;
    } while (from);
    expect(seen).toEqual(ids(all));
    const first = await request('GET', C, { path: path('?limit=1'), token: A, expect: 200 });
    await request('GET', C, { path: path(`?limit=1&suggested_only=true&from=${enc(first.next_batch)}`), token: A, expect: 400 });
    await request('GET', C, { path: path('?limit=0'), token: A, expect: 400 });

    // A room the user may not see is 403.
    await request('GET', C, { path: `/_matrix/client/v1/rooms/${enc(closed)}/hierarchy`, token: bob.access_token, expect: 403 });

    // Over federation: the space, its children this server has that fake.test may see, the
    // closed one as inaccessible; the remote child is not this server's and left out.
    const F = '/_matrix/federation/v1/hierarchy/{roomId}';
    const fed = await federation('GET', F, `/_matrix/federation/v1/hierarchy/${enc(space)}`, 200);
    expect(fed.room.room_id).toBe(space);
    expect(fed.room.children_state).toHaveLength(3);
    expect(fed.children.map((r: { room_id: string }) => r.room_id)).toEqual([open]);
    expect(fed.children[0].children_state).toBeUndefined();
    expect(fed.inaccessible_children).toEqual([closed]);
    const fedSuggested = await federation('GET', F, `/_matrix/federation/v1/hierarchy/${enc(space)}?suggested_only=true`, 200);
    expect(fedSuggested.room.children_state.map((e: { state_key: string }) => e.state_key)).toEqual([closed]);
    await federation('GET', F, `/_matrix/federation/v1/hierarchy/${enc(closed)}`, 404);
    await federation('GET', F, `/_matrix/federation/v1/hierarchy/${enc('!unknown:hs1.test')}`, 404);
  });
});

describe('users, keys and OpenID over federation', { timeout: 60_000 }, () => {
  it('a user without uploaded keys: no devices listed (a listed device carries its keys), empty key maps (federation-keys.test.ts has users with keys)', async () => {
    const alice = await register(unique('dev'));
    const devices = await federation('GET', '/_matrix/federation/v1/user/devices/{userId}', `/_matrix/federation/v1/user/devices/${enc(alice.user_id)}`, 200);
    expect(devices).toEqual({ user_id: alice.user_id, stream_id: 0, devices: [] });
    await federation('GET', '/_matrix/federation/v1/user/devices/{userId}', `/_matrix/federation/v1/user/devices/${enc('@x:fake.test')}`, 400);

    const query = await federation('POST', '/_matrix/federation/v1/user/keys/query', '/_matrix/federation/v1/user/keys/query', 200, { device_keys: { [alice.user_id]: [], '@x:fake.test': [] } });
    expect(query).toEqual({ device_keys: { [alice.user_id]: {} } });
    const claim = await federation('POST', '/_matrix/federation/v1/user/keys/claim', '/_matrix/federation/v1/user/keys/claim', 200, { one_time_keys: { [alice.user_id]: { [alice.device_id]: 'signed_curve25519' } } });
    expect(claim).toEqual({ one_time_keys: { [alice.user_id]: {} } });
    await federation('POST', '/_matrix/federation/v1/user/keys/query', '/_matrix/federation/v1/user/keys/query', 400, { device_keys: [] });
  });

  it('issues OpenID tokens that userinfo (no X-Matrix) resolves to their user', async () => {
    const alice = await register(unique('oid'));
    const bob = await register(unique('oid'));
    const T = '/_matrix/client/v3/user/{userId}/openid/request_token';
    const token = await request('POST', T, { path: `/_matrix/client/v3/user/${enc(alice.user_id)}/openid/request_token`, token: alice.access_token, body: {}, expect: 200 });
    expect(token).toMatchObject({ token_type: 'Bearer', matrix_server_name: HS, expires_in: 3600 });
    await request('POST', T, { path: `/_matrix/client/v3/user/${enc(bob.user_id)}/openid/request_token`, token: alice.access_token, body: {}, expect: 403 });

    const userinfo = async (t: string) => {
      const res = await fetch(`${server.hs().base}/_matrix/federation/v1/openid/userinfo?access_token=${enc(t)}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const ok = await userinfo(token.access_token);
    expect(ok).toEqual({ status: 200, body: { sub: alice.user_id } });
    responseValidator('server-server', 'get', '/_matrix/federation/v1/openid/userinfo', 200)(ok.body);
    // An access token is no OpenID token, and a tampered one is unknown.
    for (const bad of [alice.access_token, `${token.access_token.slice(0, -2)}AA`, 'nonsense']) {
      const res = await userinfo(bad);
      expect(res.status).toBe(401);
      expect(res.body.errcode).toBe('M_UNKNOWN_TOKEN');
      responseValidator('server-server', 'get', '/_matrix/federation/v1/openid/userinfo', 401)(res.body);
    }
  });
});

describe('third-party invites', { timeout: 60_000 }, () => {
  const ed = createNobleEd25519();

  it('accepts onbind bodies, and exchanges a signed third-party invite into an invite event of the room', async () => {
    const alice = await register(unique('inviter'));
    const roomId = await createRoom(alice.access_token, { preset: 'private_chat' });
    // The identity server's key and the invite it stored (spec `m.room.third_party_invite`).
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const publicKey = encodeBase64(await ed.publicKey(seed));
    const tokenId = unique('tok');
    await putState(alice.access_token, roomId, 'm.room.third_party_invite', tokenId, { display_name: 'c...@example.com', key_validity_url: 'https://id.test/_matrix/identity/v2/pubkey/isvalid', public_key: publicKey });

    const carol = '@carol:fake.test';
    const signed = await signJson({ mxid: carol, token: tokenId }, 'id.test', 'ed25519:0', seed, ed);
    const member = (sender: string, signedBlock: Record<string, unknown>, room = roomId) => ({
      type: 'm.room.member', room_id: room, sender, state_key: carol, content: { membership: 'invite', third_party_invite: { signed: signedBlock } },
    });
    const X = '/_matrix/federation/v1/exchange_third_party_invite/{roomId}';
    const uri = `/_matrix/federation/v1/exchange_third_party_invite/${enc(roomId)}`;

    // Forged signature, another server's sender, a body for another room, an unknown room.
    const forged = await signJson({ mxid: carol, token: tokenId }, 'id.test', 'ed25519:0', crypto.getRandomValues(new Uint8Array(32)), ed);
    await federation('PUT', X, uri, 403, member(alice.user_id, forged));
    expect((await federation('PUT', X, uri, 403, member('@mallory:fake.test', signed))).error).toMatch(/only events of this server's users/);
    await federation('PUT', X, uri, 400, member(alice.user_id, signed, '!other:hs1.test'));
    await federation('PUT', X, `/_matrix/federation/v1/exchange_third_party_invite/${enc('!unknown:hs1.test')}`, 404, member(alice.user_id, signed, '!unknown:hs1.test'));

    expect(await federation('PUT', X, uri, 200, member(alice.user_id, signed))).toEqual({});
    const state = await request('GET', '/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}', {
      path: `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(carol)}`, token: alice.access_token, expect: 200,
    });
    expect(state).toEqual({ membership: 'invite', third_party_invite: { display_name: 'c...@example.com', signed } });

    // onbind: identity servers call it without X-Matrix; valid bodies are accepted.
    const onbind = async (body: unknown) => {
      const res = await fetch(`${server.hs().base}/_matrix/federation/v1/3pid/onbind`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const bound = await onbind({ medium: 'email', address: 'dave@example.com', mxid: '@dave:hs1.test', invites: [] });
    expect(bound).toEqual({ status: 200, body: {} });
    responseValidator('server-server', 'put', '/_matrix/federation/v1/3pid/onbind', 200)(bound.body);
    expect((await onbind({ medium: 'email', mxid: '@dave:hs1.test' })).status).toBe(400);
  });
});
