/**
 * Server-side key backups (spec v1.16 "Server-side key backups"): backup versions (numbering,
 * current version, update and delete rules), room keys in the three path forms, `etag` and
 * `count`, the rule that picks which key of a session is kept, writes only to the current
 * version, and one user's backups invisible to another. Every response is checked against the
 * spec's OpenAPI schema for its operation and status.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { registerUser, type Session } from './helpers';
import { enc } from './room-helpers';
import { specRequest as request } from './spec-request';

const VERSION = '/_matrix/client/v3/room_keys/version';
const VERSION_OF = '/_matrix/client/v3/room_keys/version/{version}';
const KEYS = '/_matrix/client/v3/room_keys/keys';
const ROOM_KEYS = '/_matrix/client/v3/room_keys/keys/{roomId}';
const SESSION_KEY = '/_matrix/client/v3/room_keys/keys/{roomId}/{sessionId}';

const ALGORITHM = 'm.megolm_backup.v1.curve25519-aes-sha2';
const authData = (publicKey: string) => ({ public_key: publicKey, signatures: { '@x:test.local': { 'ed25519:DEV': 'sig' } } });

const ROOM_A = '!backupa:test.local';
const ROOM_B = '!backupb:test.local';

interface Key {
  first_message_index: number;
  forwarded_count: number;
  is_verified: boolean;
  session_data: Record<string, unknown>;
}
const key = (tag: string, meta: Partial<Omit<Key, 'session_data'>> = {}): Key => ({
  first_message_index: 0,
  forwarded_count: 0,
  is_verified: false,
  ...meta,
  session_data: { ephemeral: `eph-${tag}`, ciphertext: `ct-${tag}`, mac: `mac-${tag}` },
});

const versionPath = (v: string) => `${VERSION}/${enc(v)}`;
const keysPath = (v: string, roomId?: string, sessionId?: string) =>
  `${KEYS}${roomId === undefined ? '' : `/${enc(roomId)}`}${sessionId === undefined ? '' : `/${enc(sessionId)}`}?version=${enc(v)}`;

async function createVersion(s: Session, publicKey = 'pk1'): Promise<string> {
  const out = await request('POST', VERSION, { token: s.access_token, body: { algorithm: ALGORITHM, auth_data: authData(publicKey) }, status: 200 });
  return out.version as string;
}

const putKeys = (s: Session, v: string, rooms: Record<string, { sessions: Record<string, Key> }>, status = 200) =>
  request('PUT', KEYS, { path: keysPath(v), token: s.access_token, body: { rooms }, status });

const getSessionKey = (s: Session, v: string, roomId: string, sessionId: string) =>
  request('GET', SESSION_KEY, { path: keysPath(v, roomId, sessionId), token: s.access_token, status: 200 });

// ---- tests ---------------------------------------------------------------------------------

// The first registration in a file pays the worker's cold start (seconds on a loaded machine);
// pay it in a hook, not inside the first test's time budget.
beforeAll(async () => {
  await registerUser();
});

describe('backup versions', () => {
  it('creates, reads, updates and deletes versions; numbers are never reused', async () => {
    const alice = await registerUser();
    const t = alice.access_token;
    await request('GET', VERSION, { token: t, status: 404, errcode: 'M_NOT_FOUND' });

    expect(await createVersion(alice, 'pk1')).toBe('1');
    const first = await request('GET', VERSION, { token: t, status: 200 });
    expect(first).toEqual({ version: '1', algorithm: ALGORITHM, auth_data: authData('pk1'), count: 0, etag: expect.any(String) });
    expect(await request('GET', VERSION_OF, { path: versionPath('1'), token: t, status: 200 })).toEqual(first);

    // A new version becomes the current one; the older one can still be read.
    expect(await createVersion(alice, 'pk2')).toBe('2');
    expect((await request('GET', VERSION, { token: t, status: 200 })).version).toBe('2');
    expect((await request('GET', VERSION_OF, { path: versionPath('1'), token: t, status: 200 })).auth_data).toEqual(authData('pk1'));

    // Only auth_data can change; the body's version, when present, must be the path's.
    await request('PUT', VERSION_OF, { path: versionPath('2'), token: t, body: { algorithm: ALGORITHM, auth_data: authData('pk2b') }, status: 200 });
    await request('PUT', VERSION_OF, { path: versionPath('2'), token: t, body: { algorithm: ALGORITHM, auth_data: authData('pk2c'), version: '2' }, status: 200 });
    expect((await request('GET', VERSION_OF, { path: versionPath('2'), token: t, status: 200 })).auth_data).toEqual(authData('pk2c'));
    await request('PUT', VERSION_OF, { path: versionPath('2'), token: t, body: { algorithm: 'org.example.other', auth_data: {} }, status: 400, errcode: 'M_INVALID_PARAM' });
    await request('PUT', VERSION_OF, { path: versionPath('2'), token: t, body: { algorithm: ALGORITHM, auth_data: {}, version: '1' }, status: 400, errcode: 'M_INVALID_PARAM' });
    expect((await request('GET', VERSION_OF, { path: versionPath('2'), token: t, status: 200 })).auth_data).toEqual(authData('pk2c'));
    await request('PUT', VERSION_OF, { path: versionPath('9'), token: t, body: { algorithm: ALGORITHM, auth_data: {} }, status: 404, errcode: 'M_NOT_FOUND' });

    for (const unknown of ['9', '0', '01', 'abc']) {
      await request('GET', VERSION_OF, { path: versionPath(unknown), token: t, status: 404, errcode: 'M_NOT_FOUND' });
    }

    // Deleting the current version makes the highest remaining one current (as Synapse does);
    // deleting it again succeeds (spec), deleting one that never existed does not.
    await request('DELETE', VERSION_OF, { path: versionPath('2'), token: t, status: 200 });
    await request('GET', VERSION_OF, { path: versionPath('2'), token: t, status: 404, errcode: 'M_NOT_FOUND' });
    expect((await request('GET', VERSION, { token: t, status: 200 })).version).toBe('1');
    await request('DELETE', VERSION_OF, { path: versionPath('2'), token: t, status: 200 });
    await request('DELETE', VERSION_OF, { path: versionPath('9'), token: t, status: 404, errcode: 'M_NOT_FOUND' });
    await request('PUT', VERSION_OF, { path: versionPath('2'), token: t, body: { algorithm: ALGORITHM, auth_data: {} }, status: 404, errcode: 'M_NOT_FOUND' });

    // Version 2 was deleted: the next one is 3.
    expect(await createVersion(alice, 'pk3')).toBe('3');
    await request('DELETE', VERSION_OF, { path: versionPath('3'), token: t, status: 200 });
    await request('DELETE', VERSION_OF, { path: versionPath('1'), token: t, status: 200 });
    await request('GET', VERSION, { token: t, status: 404, errcode: 'M_NOT_FOUND' });
    expect(await createVersion(alice, 'pk4')).toBe('4');
  });

  it('refuses malformed version bodies', async () => {
    const alice = await registerUser();
    const t = alice.access_token;
    await request('POST', VERSION, { token: t, body: { auth_data: {} }, status: 400, errcode: 'M_MISSING_PARAM' });
    await request('POST', VERSION, { token: t, body: { algorithm: ALGORITHM }, status: 400, errcode: 'M_MISSING_PARAM' });
    await request('POST', VERSION, { token: t, body: { algorithm: 7, auth_data: {} }, status: 400, errcode: 'M_BAD_JSON' });
    await request('POST', VERSION, { token: t, body: { algorithm: ALGORITHM, auth_data: 'x' }, status: 400, errcode: 'M_BAD_JSON' });
    await request('POST', VERSION, { token: t, raw: '{not json', status: 400, errcode: 'M_NOT_JSON' });
    // Nothing was created.
    await request('GET', VERSION, { token: t, status: 404, errcode: 'M_NOT_FOUND' });

    const v = await createVersion(alice);
    await request('PUT', VERSION_OF, { path: versionPath(v), token: t, body: { algorithm: ALGORITHM }, status: 400, errcode: 'M_MISSING_PARAM' });
    await request('PUT', VERSION_OF, { path: versionPath(v), token: t, body: { auth_data: {} }, status: 400, errcode: 'M_MISSING_PARAM' });
    await request('PUT', VERSION_OF, { path: versionPath(v), token: t, body: { algorithm: ALGORITHM, auth_data: {}, version: 2 }, status: 400, errcode: 'M_BAD_JSON' });
  });
});

describe('room keys', () => {
  it('stores and reads keys through all three path forms, with etag and count', async () => {
    const alice = await registerUser();
    const t = alice.access_token;
    const v = await createVersion(alice);
    const initialEtag = (await request('GET', VERSION, { token: t, status: 200 })).etag;

    const put1 = await putKeys(alice, v, { [ROOM_A]: { sessions: { s1: key('a1'), s2: key('a2') } } });
    expect(put1.count).toBe(2);
    expect(put1.etag).not.toBe(initialEtag);

    const put2 = await request('PUT', ROOM_KEYS, { path: keysPath(v, ROOM_B), token: t, body: { sessions: { s3: key('b3') } }, status: 200 });
    expect(put2.count).toBe(3);
    expect(put2.etag).not.toBe(put1.etag);

    const put3 = await request('PUT', SESSION_KEY, { path: keysPath(v, ROOM_B, 's/4 +x'), token: t, body: key('b4'), status: 200 });
    expect(put3.count).toBe(4);
    expect(put3.etag).not.toBe(put2.etag);

    // The version reports the same etag and count as the last write.
    const info = await request('GET', VERSION_OF, { path: versionPath(v), token: t, status: 200 });
    expect(info).toMatchObject({ etag: put3.etag, count: 4 });

    expect(await request('GET', KEYS, { path: keysPath(v), token: t, status: 200 })).toEqual({
      rooms: {
        [ROOM_A]: { sessions: { s1: key('a1'), s2: key('a2') } },
        [ROOM_B]: { sessions: { s3: key('b3'), 's/4 +x': key('b4') } },
      },
    });
    expect(await request('GET', ROOM_KEYS, { path: keysPath(v, ROOM_A), token: t, status: 200 })).toEqual({ sessions: { s1: key('a1'), s2: key('a2') } });
    expect(await getSessionKey(alice, v, ROOM_B, 's/4 +x')).toEqual(key('b4'));

    // A room with no keys is an empty `sessions`; a session with no key is 404.
    expect(await request('GET', ROOM_KEYS, { path: keysPath(v, '!nokeys:test.local'), token: t, status: 200 })).toEqual({ sessions: {} });
    await request('GET', SESSION_KEY, { path: keysPath(v, ROOM_A, 'nope'), token: t, status: 404, errcode: 'M_NOT_FOUND' });

    // Uploading the same keys again changes nothing: same etag, same count.
    const again = await putKeys(alice, v, { [ROOM_A]: { sessions: { s1: key('a1'), s2: key('a2') } } });
    expect(again).toEqual({ etag: put3.etag, count: 4 });

    // Deletes: one session, one room, then everything; each changes the etag.
    const del1 = await request('DELETE', SESSION_KEY, { path: keysPath(v, ROOM_B, 's/4 +x'), token: t, status: 200 });
    expect(del1.count).toBe(3);
    expect(del1.etag).not.toBe(put3.etag);
    await request('GET', SESSION_KEY, { path: keysPath(v, ROOM_B, 's/4 +x'), token: t, status: 404, errcode: 'M_NOT_FOUND' });
    const del2 = await request('DELETE', ROOM_KEYS, { path: keysPath(v, ROOM_A), token: t, status: 200 });
    expect(del2.count).toBe(1);
    expect(del2.etag).not.toBe(del1.etag);
    expect(await request('GET', KEYS, { path: keysPath(v), token: t, status: 200 })).toEqual({ rooms: { [ROOM_B]: { sessions: { s3: key('b3') } } } });
    const del3 = await request('DELETE', KEYS, { path: keysPath(v), token: t, status: 200 });
    expect(del3.count).toBe(0);
    expect(del3.etag).not.toBe(del2.etag);
    expect(await request('GET', KEYS, { path: keysPath(v), token: t, status: 200 })).toEqual({ rooms: {} });
    expect(await request('GET', VERSION, { token: t, status: 200 })).toMatchObject({ count: 0, etag: del3.etag });
  });

  it('writes only to the current version; reads and deletes any live version', async () => {
    const alice = await registerUser();
    const t = alice.access_token;
    // No backup at all.
    await putKeys(alice, '1', { [ROOM_A]: { sessions: { s1: key('x') } } }, 404);

    const v1 = await createVersion(alice);
    await putKeys(alice, v1, { [ROOM_A]: { sessions: { s1: key('old') } } });
    const v2 = await createVersion(alice);

    // Spec: 403 M_WRONG_ROOM_KEYS_VERSION with `current_version`, in every PUT form.
    const wrong = await putKeys(alice, v1, { [ROOM_A]: { sessions: { s2: key('x') } } }, 403);
    expect(wrong).toMatchObject({ errcode: 'M_WRONG_ROOM_KEYS_VERSION', current_version: v2 });
    const wrongRoom = await request('PUT', ROOM_KEYS, { path: keysPath(v1, ROOM_A), token: t, body: { sessions: { s2: key('x') } }, status: 403, errcode: 'M_WRONG_ROOM_KEYS_VERSION' });
    expect(wrongRoom.current_version).toBe(v2);
    const wrongSession = await request('PUT', SESSION_KEY, { path: keysPath(v1, ROOM_A, 's2'), token: t, body: key('x'), status: 403, errcode: 'M_WRONG_ROOM_KEYS_VERSION' });
    expect(wrongSession.current_version).toBe(v2);
    // A version that does not exist is not found.
    await putKeys(alice, '77', { [ROOM_A]: { sessions: { s2: key('x') } } }, 404);
    await putKeys(alice, 'abc', { [ROOM_A]: { sessions: { s2: key('x') } } }, 404);

    // The old version is still readable, unchanged.
    expect(await request('GET', KEYS, { path: keysPath(v1), token: t, status: 200 })).toEqual({ rooms: { [ROOM_A]: { sessions: { s1: key('old') } } } });
    expect((await request('GET', VERSION_OF, { path: versionPath(v1), token: t, status: 200 })).count).toBe(1);
    expect(await request('GET', KEYS, { path: keysPath(v2), token: t, status: 200 })).toEqual({ rooms: {} });
    // Keys can be deleted from it.
    expect((await request('DELETE', KEYS, { path: keysPath(v1), token: t, status: 200 })).count).toBe(0);

    // Unknown versions on reads and deletes; `version` is required.
    await request('GET', KEYS, { path: keysPath('77'), token: t, status: 404, errcode: 'M_NOT_FOUND' });
    await request('GET', ROOM_KEYS, { path: keysPath('77', ROOM_A), token: t, status: 404, errcode: 'M_NOT_FOUND' });
    await request('GET', SESSION_KEY, { path: keysPath('77', ROOM_A, 's1'), token: t, status: 404, errcode: 'M_NOT_FOUND' });
    await request('DELETE', KEYS, { path: keysPath('77'), token: t, status: 404, errcode: 'M_NOT_FOUND' });
    await request('DELETE', ROOM_KEYS, { path: keysPath('77', ROOM_A), token: t, status: 404, errcode: 'M_NOT_FOUND' });
    await request('DELETE', SESSION_KEY, { path: keysPath('77', ROOM_A, 's1'), token: t, status: 404, errcode: 'M_NOT_FOUND' });
    await request('GET', KEYS, { token: t, status: 400, errcode: 'M_MISSING_PARAM' });
    await request('PUT', KEYS, { token: t, body: { rooms: {} }, status: 400, errcode: 'M_MISSING_PARAM' });
    await request('DELETE', KEYS, { token: t, status: 400, errcode: 'M_MISSING_PARAM' });
  });

  it('keeps the better key of a session, in the spec order: is_verified, then first_message_index, then forwarded_count', async () => {
    const alice = await registerUser();
    const v = await createVersion(alice);
    const cases: { name: string; stored: Partial<Key>; uploaded: Partial<Key>; replaced: boolean }[] = [
      { name: 'verified beats a lower index', stored: { is_verified: false, first_message_index: 0 }, uploaded: { is_verified: true, first_message_index: 9, forwarded_count: 3 }, replaced: true },
      { name: 'unverified loses despite a lower index', stored: { is_verified: true, first_message_index: 9 }, uploaded: { is_verified: false, first_message_index: 0 }, replaced: false },
      { name: 'lower index wins', stored: { first_message_index: 5 }, uploaded: { first_message_index: 2, forwarded_count: 4 }, replaced: true },
      { name: 'higher index loses despite fewer forwards', stored: { first_message_index: 2, forwarded_count: 4 }, uploaded: { first_message_index: 5, forwarded_count: 0 }, replaced: false },
      { name: 'same index: fewer forwards wins', stored: { first_message_index: 3, forwarded_count: 2 }, uploaded: { first_message_index: 3, forwarded_count: 1 }, replaced: true },
      { name: 'same index: more forwards loses', stored: { first_message_index: 3, forwarded_count: 1 }, uploaded: { first_message_index: 3, forwarded_count: 2 }, replaced: false },
      { name: 'equal metadata keeps the stored key', stored: { is_verified: true, first_message_index: 1, forwarded_count: 1 }, uploaded: { is_verified: true, first_message_index: 1, forwarded_count: 1 }, replaced: false },
    ];
    for (const [i, c] of cases.entries()) {
      const session = `rule${i}`;
      const stored = key(`stored${i}`, c.stored);
      const uploaded = key(`uploaded${i}`, c.uploaded);
      const before = await putKeys(alice, v, { [ROOM_A]: { sessions: { [session]: stored } } });
      const after = await putKeys(alice, v, { [ROOM_A]: { sessions: { [session]: uploaded } } });
      expect(await getSessionKey(alice, v, ROOM_A, session), c.name).toEqual(c.replaced ? uploaded : stored);
      // The etag moves exactly when the stored key changed; the count never does.
      expect(after.etag !== before.etag, c.name).toBe(c.replaced);
      expect(after.count, c.name).toBe(before.count);
    }
    expect((await request('GET', VERSION, { token: alice.access_token, status: 200 })).count).toBe(cases.length);
  });

  it('deleting a version deletes its keys', async () => {
    const alice = await registerUser();
    const t = alice.access_token;
    const v1 = await createVersion(alice);
    await putKeys(alice, v1, { [ROOM_A]: { sessions: { s1: key('v1') } } });
    const v2 = await createVersion(alice);
    await putKeys(alice, v2, { [ROOM_A]: { sessions: { s1: key('v2'), s2: key('v2b') } }, [ROOM_B]: { sessions: { s3: key('v2c') } } });

    await request('DELETE', VERSION_OF, { path: versionPath(v2), token: t, status: 200 });
    await request('GET', KEYS, { path: keysPath(v2), token: t, status: 404, errcode: 'M_NOT_FOUND' });
    await request('GET', SESSION_KEY, { path: keysPath(v2, ROOM_A, 's1'), token: t, status: 404, errcode: 'M_NOT_FOUND' });
    await putKeys(alice, v2, { [ROOM_A]: { sessions: { s9: key('late') } } }, 404);
    // The other version is untouched, and current again: it takes writes.
    expect(await request('GET', KEYS, { path: keysPath(v1), token: t, status: 200 })).toEqual({ rooms: { [ROOM_A]: { sessions: { s1: key('v1') } } } });
    expect((await putKeys(alice, v1, { [ROOM_B]: { sessions: { s4: key('v1b') } } })).count).toBe(2);

    // A new version starts empty.
    const v3 = await createVersion(alice);
    expect(await request('GET', KEYS, { path: keysPath(v3), token: t, status: 200 })).toEqual({ rooms: {} });
    expect((await request('GET', VERSION, { token: t, status: 200 })).count).toBe(0);
  });

  it('refuses malformed keys and stores nothing of a refused upload', async () => {
    const alice = await registerUser();
    const t = alice.access_token;
    const v = await createVersion(alice);
    const bad = async (rooms: unknown, errcode: string) =>
      request('PUT', KEYS, { path: keysPath(v), token: t, body: { rooms }, status: 400, errcode });

    await request('PUT', KEYS, { path: keysPath(v), token: t, body: {}, status: 400, errcode: 'M_MISSING_PARAM' });
    await bad([], 'M_BAD_JSON');
    await bad({ 'not-a-room': { sessions: {} } }, 'M_INVALID_PARAM');
    await bad({ [ROOM_A]: {} }, 'M_MISSING_PARAM');
    await bad({ [ROOM_A]: { sessions: [] } }, 'M_BAD_JSON');
    await bad({ [ROOM_A]: { sessions: { s: 'key' } } }, 'M_BAD_JSON');
    const { is_verified: _v, ...noVerified } = key('x');
    await bad({ [ROOM_A]: { sessions: { s: noVerified } } }, 'M_MISSING_PARAM');
    await bad({ [ROOM_A]: { sessions: { s: { ...key('x'), is_verified: 'yes' } } } }, 'M_BAD_JSON');
    await bad({ [ROOM_A]: { sessions: { s: { ...key('x'), first_message_index: -1 } } } }, 'M_INVALID_PARAM');
    await bad({ [ROOM_A]: { sessions: { s: { ...key('x'), forwarded_count: 1.5 } } } }, 'M_BAD_JSON');
    await bad({ [ROOM_A]: { sessions: { s: { ...key('x'), session_data: 'opaque' } } } }, 'M_BAD_JSON');
    // One bad session spoils the whole upload: the good room before it is not stored.
    await bad({ [ROOM_B]: { sessions: { good: key('g') } }, [ROOM_A]: { sessions: { s: { ...key('x'), forwarded_count: -2 } } } }, 'M_INVALID_PARAM');

    await request('PUT', ROOM_KEYS, { path: keysPath(v, 'not-a-room'), token: t, body: { sessions: {} }, status: 400, errcode: 'M_INVALID_PARAM' });
    await request('GET', ROOM_KEYS, { path: keysPath(v, 'not-a-room'), token: t, status: 400, errcode: 'M_INVALID_PARAM' });
    await request('PUT', ROOM_KEYS, { path: keysPath(v, ROOM_A), token: t, body: { s: key('x') }, status: 400, errcode: 'M_MISSING_PARAM' });
    await request('PUT', SESSION_KEY, { path: keysPath(v, ROOM_A, 's'), token: t, body: { sessions: { s: key('x') } }, status: 400, errcode: 'M_MISSING_PARAM' });

    expect(await request('GET', VERSION, { token: t, status: 200 })).toMatchObject({ count: 0 });
    expect(await request('GET', KEYS, { path: keysPath(v), token: t, status: 200 })).toEqual({ rooms: {} });
  });
});

describe('per-user isolation', () => {
  it("one user's backups are invisible to, and untouched by, another", async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const va = await createVersion(alice, 'alice-pk');
    await putKeys(alice, va, { [ROOM_A]: { sessions: { s1: key('alice') } } });

    await request('GET', VERSION, { token: bob.access_token, status: 404, errcode: 'M_NOT_FOUND' });
    await request('GET', VERSION_OF, { path: versionPath(va), token: bob.access_token, status: 404, errcode: 'M_NOT_FOUND' });
    await request('GET', KEYS, { path: keysPath(va), token: bob.access_token, status: 404, errcode: 'M_NOT_FOUND' });
    await request('DELETE', VERSION_OF, { path: versionPath(va), token: bob.access_token, status: 404, errcode: 'M_NOT_FOUND' });
    await putKeys(bob, va, { [ROOM_A]: { sessions: { s1: key('bob') } } }, 404);

    // Bob's own backup has the same number, and its own keys.
    const vb = await createVersion(bob, 'bob-pk');
    expect(vb).toBe(va);
    await putKeys(bob, vb, { [ROOM_A]: { sessions: { s1: key('bob', { is_verified: true }), s2: key('bob2') } } });
    await request('DELETE', SESSION_KEY, { path: keysPath(vb, ROOM_A, 's2'), token: bob.access_token, status: 200 });

    expect(await request('GET', VERSION, { token: alice.access_token, status: 200 })).toMatchObject({ auth_data: authData('alice-pk'), count: 1 });
    expect(await getSessionKey(alice, va, ROOM_A, 's1')).toEqual(key('alice'));
    expect(await getSessionKey(bob, vb, ROOM_A, 's1')).toEqual(key('bob', { is_verified: true }));
  });
});
