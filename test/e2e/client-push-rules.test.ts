/**
 * Push rules over real HTTP against `npm start`: the ruleset, the `global/` form, one rule with
 * its `enabled` and `actions`, and the 404s, each response checked against the spec v1.16
 * OpenAPI schema of its operation and status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseValidator } from './openapi';
import { startInstance, type Instance } from './instance';

let instance: Instance;
beforeAll(async () => {
  instance = await startInstance();
});
afterAll(async () => {
  await instance?.stop();
});

const C = '/_matrix/client/v3';
const RULE = `${C}/pushrules/global/{kind}/{ruleId}`;

/** GET `path` and validate the body against the spec operation `template` for `status`. */
async function get(template: string, opts: { path?: string; token?: string; expect: number }): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  const res = await fetch(`${instance.base}${opts.path ?? template}`, { headers });
  const body = (await res.json()) as Record<string, unknown>;
  expect(res.status, `GET ${opts.path ?? template}: ${JSON.stringify(body)}`).toBe(opts.expect);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  let check: (body: unknown) => void;
  try {
    check = responseValidator('client-server', 'get', template, opts.expect);
  } catch (e) {
    // A status the spec lists without a schema (here 401): the standard error shape.
    if (opts.expect < 400 || !/no JSON schema/.test(String(e))) throw e;
    expect(body).toEqual({ errcode: expect.stringMatching(/^M_/), error: expect.any(String) });
    return body;
  }
  check(body);
  return body;
}

describe('push rules over HTTP, schema-checked', () => {
  it('serves the predefined rules of the caller', async () => {
    const username = `e2epush${Date.now().toString(36)}`;
    const res = await fetch(`${instance.base}${C}/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password: 'e2e password', auth: { type: 'm.login.dummy' } }),
    });
    expect(res.status).toBe(200);
    const { user_id: userId, access_token: token } = (await res.json()) as { user_id: string; access_token: string };

    const all = await get(`${C}/pushrules/`, { token, expect: 200 });
    const global = all.global as Record<string, { rule_id: string; pattern?: string }[]>;
    expect(Object.keys(global)).toEqual(['override', 'content', 'room', 'sender', 'underride']);
    expect(global.content?.[0]).toMatchObject({ rule_id: '.m.rule.contains_user_name', pattern: username });

    expect(await get(`${C}/pushrules/global/`, { token, expect: 200 })).toEqual(global);

    const rulePath = (kind: string, id: string, suffix = '') => `${C}/pushrules/global/${kind}/${encodeURIComponent(id)}${suffix}`;
    const invite = await get(RULE, { path: rulePath('override', '.m.rule.invite_for_me'), token, expect: 200 });
    expect(invite.conditions).toContainEqual({ kind: 'event_match', key: 'state_key', pattern: userId });
    expect(await get(`${RULE}/enabled`, { path: rulePath('override', '.m.rule.master', '/enabled'), token, expect: 200 })).toEqual({ enabled: false });
    expect(await get(`${RULE}/actions`, { path: rulePath('underride', '.m.rule.message', '/actions'), token, expect: 200 })).toEqual({
      actions: ['notify'],
    });

    for (const suffix of ['', '/enabled', '/actions']) {
      const missing = await get(`${RULE}${suffix}`, { path: rulePath('override', '.m.rule.nope', suffix), token, expect: 404 });
      expect(missing.errcode).toBe('M_NOT_FOUND');
    }
    // The ruleset operations refuse a request without a token.
    for (const template of [`${C}/pushrules/`, `${C}/pushrules/global/`]) {
      expect((await get(template, { expect: 401 })).errcode).toBe('M_MISSING_TOKEN');
    }
  });
});
