/**
 * The end-to-end tests' Client-Server caller: one `npm start` instance per test file, and
 * requests whose responses are checked against the spec v1.16 OpenAPI schema of their
 * operation and status (errors the spec lists without a schema must be the standard
 * `{errcode, error}` shape).
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { startWithFakeServer, type FakeServer } from './federation-harness';
import { responseValidator } from './openapi';
import { startInstance, type Instance } from './instance';

/** Start an instance for the calling test file; the getter works inside tests. */
export function useInstance(): () => Instance {
  let instance: Instance | undefined;
  beforeAll(async () => {
    instance = await startInstance();
  });
  afterAll(async () => {
    await instance?.stop();
  });
  return () => {
    if (!instance) throw new Error('the instance has not started');
    return instance;
  };
}

/**
 * An instance named `instanceName` and a stand-in server `fakeName` (federation-harness.ts
 * `startWithFakeServer`) for the calling test file; `setUp` registers the stand-in's routes
 * before any test runs. The getters work inside tests.
 */
export function useFakeServer(instanceName: string, fakeName: string, setUp?: (fake: FakeServer) => void): { fake: () => FakeServer; hs: () => Instance } {
  let started: { fake: FakeServer; hs: Instance; stop: () => Promise<void> } | undefined;
  beforeAll(async () => {
    started = await startWithFakeServer(instanceName, fakeName);
    setUp?.(started.fake);
  }, 120_000);
  afterAll(async () => {
    await started?.stop();
  });
  const get = () => {
    if (!started) throw new Error('the instance has not started');
    return started;
  };
  return { fake: () => get().fake, hs: () => get().hs };
}

/**
 * An ID on the instance's own server, `localhost:$PORT` under `npm start` (a bare `localhost`
 * is another server): `localId(instance, '#', 'room')`.
 */
export const localId = (instance: () => Instance, sigil: string, name: string) => `${sigil}${name}:localhost:${instance().port}`;

export interface SpecRequest {
  /** The concrete path when `template` has parameters. */
  path?: string;
  token?: string;
  body?: unknown;
  /** The status the test expects; the response must match the spec for it. */
  expect: number;
  /** Validate against another GET operation's schema (for spec schemas no body can match). */
  schemaOf?: string;
}

/** Response bodies are whatever the spec allows; tests read fields off them freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SpecBody = any;

export function specClient(instance: () => Instance) {
  async function request(method: string, template: string, opts: SpecRequest): Promise<SpecBody> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    const res = await fetch(`${instance().base}${opts.path ?? template}`, {
      method,
      headers,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    const body = (await res.json()) as unknown;
    expect(res.status, `${method} ${opts.path ?? template}: ${JSON.stringify(body)}`).toBe(opts.expect);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    let check: (body: unknown) => void;
    try {
      check = responseValidator('client-server', method.toLowerCase(), opts.schemaOf ?? template, opts.expect);
    } catch (e) {
      if (opts.expect < 400 || !/no JSON schema/.test(String(e))) throw e;
      expect(body).toEqual(expect.objectContaining({ errcode: expect.stringMatching(/^M_/), error: expect.any(String) }));
      return body;
    }
    check(body);
    return body;
  }

  async function register(username: string): Promise<{ user_id: string; access_token: string; device_id: string }> {
    return request('POST', '/_matrix/client/v3/register', { body: { username, password: 'e2e password', auth: { type: 'm.login.dummy' } }, expect: 200 });
  }

  return { request, register };
}
