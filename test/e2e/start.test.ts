/**
 * `npm start` from the outside: the network answers on one port, the key server's response
 * verifies against its own published key and the spec's schema, data survives a restart, two
 * instances run side by side, and a bad configuration stops the start listing every problem.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeBase64 } from '../../core/base64';
import type { JsonObject } from '../../core/canonical-json';
import { nobleEd25519 } from '../../core/crypto/ed25519-noble';
import { verifyJsonSignature } from '../../core/crypto/signing';
import { responseValidator } from './openapi';
import { freePort, runToExit, startInstance, tempDataDir, type Instance } from './instance';

const running: Instance[] = [];
afterAll(async () => {
  await Promise.all(running.map((i) => i.stop()));
});

async function verifyKeyResponse(body: JsonObject): Promise<string> {
  const serverName = body.server_name as string;
  const verifyKeys = body.verify_keys as Record<string, { key: string }>;
  const [keyId, { key }] = Object.entries(verifyKeys)[0]!;
  expect(await verifyJsonSignature(body, serverName, keyId, decodeBase64(key), nobleEd25519)).toBe(true);
  return `${keyId} ${key}`;
}

describe('npm start', () => {
  it('serves a self-verifying, schema-valid key response, and keeps its key across a restart', async () => {
    const dataDir = await tempDataDir();
    const first = await startInstance({ DATA_DIR: dataDir });
    running.push(first);
    expect(first.output()).toContain(`server name localhost:${first.port}`);

    const res = await fetch(`${first.base}/_matrix/key/v2/server`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as JsonObject;
    expect(body.server_name).toBe(`localhost:${first.port}`);
    responseValidator('server-server', 'get', '/_matrix/key/v2/server', 200)(body);
    const key = await verifyKeyResponse(body);

    // The secret never reaches the log.
    const seed = (await readFile(path.join(dataDir, 'signing.key'), 'utf8')).trim().split(' ')[2]!;
    expect(first.output()).not.toContain(seed);

    expect(await first.stop()).toBe(0);
    const second = await startInstance({ DATA_DIR: dataDir, PORT: String(first.port) });
    running.push(second);
    const again = (await (await fetch(`${second.base}/_matrix/key/v2/server`)).json()) as JsonObject;
    expect(await verifyKeyResponse(again)).toBe(key);
    expect(await second.stop()).toBe(0);
  });

  it('puts every worker behind one port and answers unknown paths as Matrix errors', async () => {
    const instance = await startInstance({ SERVER_NAME: 'hs.example' });
    running.push(instance);
    const identity = await fetch(`${instance.base}/_matrix/identity/versions`);
    expect(identity.status).toBe(200);
    responseValidator('identity', 'get', '/_matrix/identity/versions', 200)(await identity.json());

    const push = await fetch(`${instance.base}/_matrix/push/v1/notify`, { method: 'POST', body: '{}' });
    expect(push.status).toBe(404);
    expect(await push.json()).toMatchObject({ errcode: 'M_UNRECOGNIZED' });

    const versions = await fetch(`${instance.base}/_matrix/client/versions`);
    responseValidator('client-server', 'get', '/_matrix/client/versions', 200)(await versions.json());
    const fedVersion = await fetch(`${instance.base}/_matrix/federation/v1/version`);
    responseValidator('server-server', 'get', '/_matrix/federation/v1/version', 200)(await fedVersion.json());
    expect(await (await fetch(`${instance.base}/.well-known/matrix/server`)).json()).toEqual({ 'm.server': 'hs.example' });
    await instance.stop();
  });

  it('runs two instances side by side', async () => {
    const [a, b] = await Promise.all([startInstance(), startInstance()]);
    running.push(a, b);
    const fetchKeys = async (i: Instance) => (await (await fetch(`${i.base}/_matrix/key/v2/server`)).json()) as JsonObject;
    const [ka, kb] = await Promise.all([fetchKeys(a), fetchKeys(b)]);
    expect(ka.server_name).toBe(`localhost:${a.port}`);
    expect(kb.server_name).toBe(`localhost:${b.port}`);
    expect(await verifyKeyResponse(ka)).not.toBe(await verifyKeyResponse(kb));
    await Promise.all([a.stop(), b.stop()]);
  });

  it('refuses to start on an invalid configuration, listing every problem', async () => {
    const result = await runToExit({
      PORT: String(await freePort()),
      DATA_DIR: await tempDataDir(),
      SERVER_NAME: 'bad name!',
      KEY_VALIDITY_MS: 'tomorrow',
      SIGNING_KEY: 'rsa 1 xyz',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/SERVER_NAME/);
    expect(result.stderr).toMatch(/KEY_VALIDITY_MS/);
    expect(result.stderr).toMatch(/SIGNING_KEY/);
    expect(result.stdout).not.toMatch(/listening/);
  });
});
