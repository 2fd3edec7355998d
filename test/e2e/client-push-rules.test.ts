/**
 * Push rules over real HTTP against `npm start`, each response checked against the spec v1.16
 * OpenAPI schema of its operation and status: the predefined ruleset, one rule with its
 * `enabled` and `actions`, user rules created, placed, changed and deleted, the `m.push_rules`
 * account data in /sync, and the 4xx cases. Also the 429 of a rate limit, through the failed
 * logins of one account (the default rate: 5, then one per 10 s).
 */
import { describe, expect, it } from 'vitest';
import { specClient, useInstance } from './spec-client';

const instance = useInstance();
const { request, register } = specClient(instance);

const C = '/_matrix/client/v3';
const RULE = `${C}/pushrules/global/{kind}/{ruleId}`;
const rulePath = (kind: string, id: string, suffix = '') => `${C}/pushrules/global/${kind}/${encodeURIComponent(id)}${suffix}`;

describe('push rules over HTTP, schema-checked', () => {
  it('serves the predefined rules of the caller', async () => {
    const username = `e2epush${Date.now().toString(36)}`;
    const { user_id: userId, access_token: token } = await register(username);

    const all = await request('GET', `${C}/pushrules/`, { token, expect: 200 });
    const global = all.global as Record<string, { rule_id: string; pattern?: string }[]>;
    expect(Object.keys(global)).toEqual(['override', 'content', 'room', 'sender', 'underride']);
    expect(global.content?.[0]).toMatchObject({ rule_id: '.m.rule.contains_user_name', pattern: username });
    expect(await request('GET', `${C}/pushrules/global/`, { token, expect: 200 })).toEqual(global);

    const invite = await request('GET', RULE, { path: rulePath('override', '.m.rule.invite_for_me'), token, expect: 200 });
    expect(invite.conditions).toContainEqual({ kind: 'event_match', key: 'state_key', pattern: userId });
    expect(await request('GET', `${RULE}/enabled`, { path: rulePath('override', '.m.rule.master', '/enabled'), token, expect: 200 })).toEqual({ enabled: false });
    expect(await request('GET', `${RULE}/actions`, { path: rulePath('underride', '.m.rule.message', '/actions'), token, expect: 200 })).toEqual({
      actions: ['notify'],
    });
    for (const suffix of ['', '/enabled', '/actions']) {
      const missing = await request('GET', `${RULE}${suffix}`, { path: rulePath('override', '.m.rule.nope', suffix), token, expect: 404 });
      expect(missing.errcode).toBe('M_NOT_FOUND');
    }
    for (const template of [`${C}/pushrules/`, `${C}/pushrules/global/`]) {
      expect((await request('GET', template, { expect: 401 })).errcode).toBe('M_MISSING_TOKEN');
    }
  });

  it('creates, places, changes and deletes user rules; /sync carries the ruleset', async () => {
    const { access_token: token } = await register(`e2epushw${Date.now().toString(36)}`);

    // The initial sync has the ruleset before any change.
    const S = `${C}/sync`;
    const initial = await request('GET', S, { token, expect: 200 });
    const pushRules = (body: { account_data: { events: { type: string; content: Record<string, unknown> }[] } }) =>
      body.account_data.events.filter((e) => e.type === 'm.push_rules');
    expect(pushRules(initial)).toEqual([{ type: 'm.push_rules', content: { global: (await request('GET', `${C}/pushrules/`, { token, expect: 200 })).global } }]);

    const put = (kind: string, id: string, body: unknown, query = '', expect = 200) =>
      request('PUT', RULE, { path: `${rulePath(kind, id)}${query}`, token, body, expect });
    const cake = [{ kind: 'event_match', key: 'content.body', pattern: 'cake*' }];
    expect(await put('override', 'a', { conditions: cake, actions: ['notify'] })).toEqual({});
    await put('override', 'b', { conditions: cake, actions: [] }, '?after=a');
    await put('content', 'nocake', { pattern: 'cake*lie', actions: ['notify', { set_tweak: 'highlight', value: false }] });
    await put('room', '!somewhere:example.org', { actions: [] });
    const override = (await request('GET', `${C}/pushrules/global/`, { token, expect: 200 })).override as { rule_id: string }[];
    expect(override.map((r) => r.rule_id).slice(0, 3)).toEqual(['.m.rule.master', 'a', 'b']);
    expect(await request('GET', RULE, { path: rulePath('content', 'nocake'), token, expect: 200 })).toEqual({
      rule_id: 'nocake', default: false, enabled: true, pattern: 'cake*lie', actions: ['notify', { set_tweak: 'highlight', value: false }],
    });

    const E = `${RULE}/enabled`;
    const A = `${RULE}/actions`;
    expect(await request('PUT', E, { path: rulePath('override', '.m.rule.master', '/enabled'), token, body: { enabled: true }, expect: 200 })).toEqual({});
    expect(await request('PUT', A, { path: rulePath('override', 'a', '/actions'), token, body: { actions: [] }, expect: 200 })).toEqual({});
    expect(await request('GET', A, { path: rulePath('override', 'a', '/actions'), token, expect: 200 })).toEqual({ actions: [] });
    expect(await request('DELETE', RULE, { path: rulePath('override', 'b'), token, expect: 200 })).toEqual({});

    // Each change reaches /sync as the whole merged ruleset.
    const next = await request('GET', S, { path: `${S}?since=${initial.next_batch}`, token, expect: 200 });
    const [event] = pushRules(next);
    const synced = (event!.content.global as Record<string, { rule_id: string; enabled: boolean }[]>).override!;
    expect(synced.slice(0, 3).map((r) => [r.rule_id, r.enabled])).toEqual([['.m.rule.master', true], ['a', true], ['.m.rule.suppress_notices', true]]);

    // 4xx: predefined IDs cannot be created or deleted, missing rules are 404, bodies are checked.
    expect((await put('override', '.m.rule.master', { actions: [] }, '', 400)).errcode).toBe('M_INVALID_PARAM');
    expect((await request('DELETE', RULE, { path: rulePath('override', '.m.rule.master'), token, expect: 400 })).errcode).toBe('M_INVALID_PARAM');
    expect((await request('DELETE', RULE, { path: rulePath('override', 'b'), token, expect: 404 })).errcode).toBe('M_NOT_FOUND');
    expect((await put('override', 'c', { actions: [] }, '?before=nosuch', 400)).errcode).toBe('M_INVALID_PARAM');
    expect((await put('content', 'c', { actions: [] }, '', 400)).errcode).toBe('M_BAD_JSON');
    expect((await request('PUT', E, { path: rulePath('underride', 'nosuch', '/enabled'), token, body: { enabled: true }, expect: 404 })).errcode).toBe('M_NOT_FOUND');
  });
});

describe('rate limiting over HTTP', () => {
  it('answers failed logins over the rate with 429 M_LIMIT_EXCEEDED, retry_after_ms and Retry-After', async () => {
    const { user_id: userId } = await register(`e2erate${Date.now().toString(36)}`);
    const L = `${C}/login`;
    const body = { type: 'm.login.password', identifier: { type: 'm.id.user', user: userId }, password: 'wrong' };
    for (let i = 0; i < 5; i++) expect((await request('POST', L, { body, expect: 403 })).errcode).toBe('M_FORBIDDEN');
    const limited = await request('POST', L, { body, expect: 429 });
    expect(limited.errcode).toBe('M_LIMIT_EXCEEDED');
    expect(limited.retry_after_ms).toBeGreaterThan(0);
    expect(limited.retry_after_ms).toBeLessThanOrEqual(10_000);
    // The same refusal carries the HTTP header, in whole seconds.
    const res = await fetch(`${instance().base}${L}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(429);
    const again = (await res.json()) as { retry_after_ms: number };
    expect(res.headers.get('Retry-After')).toBe(String(Math.ceil(again.retry_after_ms / 1000)));
  });
});
