/** Server identity and discovery through the homeserver worker (Foundation issue, part 5). */
import { describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../core/base64';
import { webCryptoEd25519 } from '../../core/crypto/ed25519-webcrypto';
import { verifyJsonSignature } from '../../core/crypto/signing';
import type { JsonObject } from '../../core/canonical-json';
import { hs, json } from './helpers';

/** Public half of the spec's test key, which vitest.config.ts configures as SIGNING_KEY. */
const SPEC_TEST_PUBLIC_KEY = 'XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI';

describe('key server', () => {
  it('publishes its key, self-signed, with a validity window', async () => {
    const before = Date.now();
    const res = await hs('/_matrix/key/v2/server');
    expect(res.status).toBe(200);
    const body = await json<JsonObject>(res);
    expect(body.server_name).toBe('test.local');
    expect(body.verify_keys).toEqual({ 'ed25519:1': { key: SPEC_TEST_PUBLIC_KEY } });
    expect(body.old_verify_keys).toEqual({});
    const validUntil = body.valid_until_ts as number;
    expect(validUntil).toBeGreaterThanOrEqual(before + 86_400_000);
    expect(validUntil).toBeLessThanOrEqual(Date.now() + 86_400_000);

    const key = decodeBase64(SPEC_TEST_PUBLIC_KEY);
    expect(await verifyJsonSignature(body, 'test.local', 'ed25519:1', key, webCryptoEd25519)).toBe(true);
    // A signature is over the canonical form: any change to the body must break it.
    const tampered = { ...body, valid_until_ts: validUntil + 1 };
    expect(await verifyJsonSignature(tampered, 'test.local', 'ed25519:1', key, webCryptoEd25519)).toBe(false);
  });
});

describe('versions and discovery', () => {
  it('names the server software', async () => {
    const body = await json(await hs('/_matrix/federation/v1/version'));
    expect(body).toEqual({ server: { name: 'edge-matrix', version: expect.any(String) } });
  });

  it('lists client spec versions', async () => {
    const body = await json(await hs('/_matrix/client/versions'));
    expect(body.versions).toEqual(['v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11', 'v1.12', 'v1.13', 'v1.14', 'v1.15', 'v1.16']);
  });

  it('answers .well-known from configuration', async () => {
    expect(await json(await hs('/.well-known/matrix/server'))).toEqual({ 'm.server': 'test.local' });
    expect(await json(await hs('/.well-known/matrix/client'))).toEqual({
      'm.homeserver': { base_url: 'https://matrix.test.local' },
    });
  });
});

describe('errors and CORS', () => {
  it('answers unknown Matrix endpoints with 404 M_UNRECOGNIZED as JSON', async () => {
    for (const path of ['/_matrix/client/v3/nonexistent', '/_matrix/federation/v1/nope', '/_matrix/media/v3/x']) {
      const res = await hs(path);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await json(res)).toEqual({ errcode: 'M_UNRECOGNIZED', error: expect.any(String) });
    }
    const wrongMethod = await hs('/_matrix/key/v2/server', { method: 'DELETE' });
    expect(wrongMethod.status).toBe(404);
    expect((await json(wrongMethod)).errcode).toBe('M_UNRECOGNIZED');
  });

  it('answers preflight and sets CORS headers on every response', async () => {
    const pre = await hs('/_matrix/client/versions', { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-headers')).toContain('Authorization');
    for (const path of ['/_matrix/client/versions', '/_matrix/nothing']) {
      const res = await hs(path);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-methods')).toContain('PUT');
    }
  });
});
