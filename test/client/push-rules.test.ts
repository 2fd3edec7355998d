/**
 * Push rules: the predefined ruleset of the caller, one rule by kind and ID, and the 4xx cases;
 * user rules (PUT/DELETE with before/after), enabled and actions of any rule, and the ruleset
 * as the `m.push_rules` account data in /sync.
 */
import { describe, expect, it } from 'vitest';
import { call, json, registerUser, type Session } from './helpers';
import { settle, sync, type SyncBody } from './sync-helpers';

type Rule = { rule_id: string; default: boolean; enabled: boolean; actions: unknown[]; conditions?: unknown[]; pattern?: string };
type Ruleset = Record<'override' | 'content' | 'room' | 'sender' | 'underride', Rule[]>;

const localpartOf = (userId: string) => userId.slice(1, userId.indexOf(':'));

describe('push rules', () => {
  it('need an access token', async () => {
    for (const path of ['/v3/pushrules/', '/v3/pushrules/global/', '/v3/pushrules/global/override/.m.rule.master']) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(401);
      expect((await json(res)).errcode).toBe('M_MISSING_TOKEN');
    }
  });

  it('GET /pushrules/ returns the global ruleset with the caller in it', async () => {
    const a = await registerUser();
    const res = await call('GET', '/v3/pushrules/', { token: a.access_token });
    expect(res.status).toBe(200);
    const body = await json<{ global: Ruleset }>(res);
    expect(Object.keys(body)).toEqual(['global']);
    const { global } = body;
    expect(Object.keys(global)).toEqual(['override', 'content', 'room', 'sender', 'underride']);
    expect(global.override.map((r) => r.rule_id)[0]).toBe('.m.rule.master');
    expect(global.override).toHaveLength(12);
    expect(global.underride.map((r) => r.rule_id)).toEqual([
      '.m.rule.call',
      '.m.rule.encrypted_room_one_to_one',
      '.m.rule.room_one_to_one',
      '.m.rule.message',
      '.m.rule.encrypted',
    ]);
    expect(global.room).toEqual([]);
    expect(global.sender).toEqual([]);
    expect(global.content).toEqual([
      expect.objectContaining({ rule_id: '.m.rule.contains_user_name', pattern: localpartOf(a.user_id) }),
    ]);
    const invite = global.override.find((r) => r.rule_id === '.m.rule.invite_for_me');
    expect(invite?.conditions).toContainEqual({ kind: 'event_match', key: 'state_key', pattern: a.user_id });

    // The optional `global/` form is the same ruleset, unwrapped.
    expect(await json(await call('GET', '/v3/pushrules/global/', { token: a.access_token }))).toEqual(global);
  });

  it('GET /pushrules/global/{kind}/{ruleId}, /enabled and /actions', async () => {
    const a = await registerUser();
    const opts = { token: a.access_token };
    const mention = await call('GET', '/v3/pushrules/global/override/.m.rule.is_user_mention', opts);
    expect(mention.status).toBe(200);
    expect(await json(mention)).toEqual({
      rule_id: '.m.rule.is_user_mention',
      default: true,
      enabled: true,
      conditions: [{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: a.user_id }],
      actions: ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight' }],
    });

    expect(await json(await call('GET', '/v3/pushrules/global/override/.m.rule.master/enabled', opts))).toEqual({ enabled: false });
    expect(await json(await call('GET', '/v3/pushrules/global/underride/.m.rule.message/enabled', opts))).toEqual({ enabled: true });
    expect(await json(await call('GET', '/v3/pushrules/global/underride/.m.rule.call/actions', opts))).toEqual({
      actions: ['notify', { set_tweak: 'sound', value: 'ring' }],
    });
    expect(await json(await call('GET', '/v3/pushrules/global/content/.m.rule.contains_user_name', opts))).toMatchObject({
      pattern: localpartOf(a.user_id),
    });
  });

  it('answers 404 M_NOT_FOUND for an unknown rule and 400 M_INVALID_PARAM for an unknown kind', async () => {
    const a = await registerUser();
    const opts = { token: a.access_token };
    const missing = [
      '/v3/pushrules/global/override/.m.rule.nope',
      // A rule of another kind is not found under this kind.
      '/v3/pushrules/global/override/.m.rule.message',
      `/v3/pushrules/global/room/${encodeURIComponent('!room:test.local')}`,
      `/v3/pushrules/global/sender/${encodeURIComponent('@bob:test.local')}/enabled`,
      '/v3/pushrules/global/content/nocake/actions',
    ];
    for (const path of missing) {
      const res = await call('GET', path, opts);
      expect(res.status, path).toBe(404);
      expect(await json(res), path).toEqual({ errcode: 'M_NOT_FOUND', error: expect.any(String) });
    }
    for (const suffix of ['', '/enabled', '/actions']) {
      const res = await call('GET', `/v3/pushrules/global/everything/.m.rule.master${suffix}`, opts);
      expect(res.status, suffix).toBe(400);
      expect(await json(res)).toEqual({ errcode: 'M_INVALID_PARAM', error: expect.any(String) });
    }
  });
});

describe('push rules, write side', () => {
  const rule = (kind: string, id: string, suffix = '') => `/v3/pushrules/global/${kind}/${encodeURIComponent(id)}${suffix}`;
  const ruleset = async (s: Session) => (await json<{ global: Ruleset }>(await call('GET', '/v3/pushrules/', { token: s.access_token }))).global;
  const expectError = async (res: Response, status: number, errcode: string) => {
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(status);
    expect(body.errcode).toBe(errcode);
  };

  it('creates user rules of every kind, first among user rules, enabled, and GET reflects them', async () => {
    const a = await registerUser();
    const opts = (body: unknown) => ({ token: a.access_token, body });
    const cond = [{ kind: 'event_match', key: 'content.body', pattern: 'cake*' }];
    expect((await call('PUT', rule('override', 'first'), opts({ conditions: cond, actions: ['notify'] }))).status).toBe(200);
    expect(await json(await call('PUT', rule('override', 'second'), opts({ conditions: cond, actions: [] })))).toEqual({});
    expect((await call('PUT', rule('content', 'nocake'), opts({ pattern: 'cake*lie', actions: ['notify', 'dont_notify'] }))).status).toBe(200);
    expect((await call('PUT', rule('room', '!r:test.local'), opts({ actions: [] }))).status).toBe(200);
    expect((await call('PUT', rule('sender', '@spam:test.local'), opts({ actions: [] }))).status).toBe(200);
    expect((await call('PUT', rule('underride', 'low'), opts({ actions: ['notify'] }))).status).toBe(200);

    const global = await ruleset(a);
    expect(global.override.map((r) => r.rule_id).slice(0, 4)).toEqual(['.m.rule.master', 'second', 'first', '.m.rule.suppress_notices']);
    expect(global.override).toHaveLength(14);
    expect(global.content.map((r) => r.rule_id)).toEqual(['nocake', '.m.rule.contains_user_name']);
    // The historical `dont_notify` is dropped; a content rule has a pattern and no conditions.
    expect(global.content[0]).toEqual({ rule_id: 'nocake', default: false, enabled: true, pattern: 'cake*lie', actions: ['notify'] });
    expect(global.room).toEqual([{ rule_id: '!r:test.local', default: false, enabled: true, actions: [] }]);
    expect(global.sender).toEqual([{ rule_id: '@spam:test.local', default: false, enabled: true, actions: [] }]);
    expect(global.underride[0]).toEqual({ rule_id: 'low', default: false, enabled: true, conditions: [], actions: ['notify'] });
    expect(await json(await call('GET', rule('override', 'first'), { token: a.access_token }))).toEqual({
      rule_id: 'first', default: false, enabled: true, conditions: cond, actions: ['notify'],
    });

    // Another user's rules are their own.
    const b = await registerUser();
    expect((await ruleset(b)).override).toHaveLength(12);
  });

  it('places rules with before and after, and updates an existing rule in place', async () => {
    const a = await registerUser();
    const put = (id: string, query = '', body: unknown = { actions: ['notify'] }) =>
      call('PUT', `${rule('override', id)}${query}`, { token: a.access_token, body });
    for (const id of ['a', 'b']) expect((await put(id)).status).toBe(200);
    expect((await put('c', '?after=a')).status).toBe(200);
    expect((await put('d', '?before=b&after=a')).status).toBe(200);
    const order = async () => (await ruleset(a)).override.map((r) => r.rule_id).slice(1, 5);
    expect(await order()).toEqual(['d', 'b', 'a', 'c']);

    // An update keeps the place (and a disabled rule stays disabled).
    expect((await call('PUT', rule('override', 'b', '/enabled'), { token: a.access_token, body: { enabled: false } })).status).toBe(200);
    expect((await put('b', '', { actions: [{ set_tweak: 'highlight' }] })).status).toBe(200);
    expect(await order()).toEqual(['d', 'b', 'a', 'c']);
    expect(await json(await call('GET', rule('override', 'b'), { token: a.access_token }))).toMatchObject({ enabled: false, actions: [{ set_tweak: 'highlight' }] });

    // Relative to a server-default rule, or to a rule that does not exist: 400.
    await expectError(await put('e', '?before=.m.rule.suppress_notices'), 400, 'M_INVALID_PARAM');
    await expectError(await put('e', '?after=nosuch'), 400, 'M_INVALID_PARAM');
    expect(await order()).toEqual(['d', 'b', 'a', 'c']);
  });

  it('refuses predefined rule IDs, bad IDs and bad bodies', async () => {
    const a = await registerUser();
    const put = (kind: string, id: string, body: unknown) => call('PUT', rule(kind, id), { token: a.access_token, body });
    await expectError(await put('override', '.m.rule.master', { actions: [] }), 400, 'M_INVALID_PARAM');
    await expectError(await put('override', '.mine', { actions: [] }), 400, 'M_INVALID_PARAM');
    await expectError(await put('override', 'a/b', { actions: [] }), 400, 'M_INVALID_PARAM');
    await expectError(await put('room', 'not-a-room', { actions: [] }), 400, 'M_INVALID_PARAM');
    await expectError(await put('sender', '!r:test.local', { actions: [] }), 400, 'M_INVALID_PARAM');
    await expectError(await put('everything', 'x', { actions: [] }), 400, 'M_INVALID_PARAM');
    await expectError(await put('override', 'x', {}), 400, 'M_MISSING_PARAM');
    await expectError(await put('override', 'x', { actions: 'notify' }), 400, 'M_BAD_JSON');
    await expectError(await put('override', 'x', { actions: ['loudly'] }), 400, 'M_BAD_JSON');
    await expectError(await put('override', 'x', { actions: [], conditions: [{ kind: 'event_match', key: 'type' }] }), 400, 'M_BAD_JSON');
    await expectError(await put('underride', 'x', { actions: [], conditions: [{ kind: 'room_member_count', is: 'two' }] }), 400, 'M_BAD_JSON');
    await expectError(await put('content', 'x', { actions: [] }), 400, 'M_BAD_JSON');
    await expectError(await call('PUT', rule('override', 'x'), { token: a.access_token, raw: '{' }), 400, 'M_NOT_JSON');
    // Nothing was stored by any of them.
    expect((await ruleset(a)).override).toHaveLength(12);
    expect((await call('PUT', rule('override', 'x'), { body: { actions: [] } })).status).toBe(401);
  });

  it('deletes user rules; predefined rules cannot be deleted; missing ones are 404', async () => {
    const a = await registerUser();
    const opts = { token: a.access_token };
    expect((await call('PUT', rule('content', 'nocake'), { ...opts, body: { pattern: 'cake', actions: [] } })).status).toBe(200);
    expect(await json(await call('DELETE', rule('content', 'nocake'), opts))).toEqual({});
    await expectError(await call('GET', rule('content', 'nocake'), opts), 404, 'M_NOT_FOUND');
    await expectError(await call('DELETE', rule('content', 'nocake'), opts), 404, 'M_NOT_FOUND');
    await expectError(await call('DELETE', rule('override', '.m.rule.master'), opts), 400, 'M_INVALID_PARAM');
    await expectError(await call('DELETE', rule('nokind', 'x'), opts), 400, 'M_INVALID_PARAM');
    expect((await ruleset(a)).content.map((r) => r.rule_id)).toEqual(['.m.rule.contains_user_name']);
  });

  it('enables, disables and changes the actions of predefined and user rules', async () => {
    const a = await registerUser();
    const opts = (body: unknown) => ({ token: a.access_token, body });
    expect(await json(await call('PUT', rule('override', '.m.rule.master', '/enabled'), opts({ enabled: true })))).toEqual({});
    expect(await json(await call('GET', rule('override', '.m.rule.master', '/enabled'), { token: a.access_token }))).toEqual({ enabled: true });
    expect(await json(await call('PUT', rule('underride', '.m.rule.message', '/actions'), opts({ actions: ['notify', { set_tweak: 'sound', value: 'default' }] })))).toEqual({});
    expect(await json(await call('GET', rule('underride', '.m.rule.message', '/actions'), { token: a.access_token }))).toEqual({
      actions: ['notify', { set_tweak: 'sound', value: 'default' }],
    });
    // The predefined rule keeps its definition and place; only enabled/actions are the user's.
    const global = await ruleset(a);
    expect(global.override[0]).toEqual({ rule_id: '.m.rule.master', default: true, enabled: true, conditions: [], actions: [] });
    expect(global.underride.find((r) => r.rule_id === '.m.rule.message')).toMatchObject({
      default: true, conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.message' }],
    });

    await expectError(await call('PUT', rule('override', '.m.rule.nope', '/enabled'), opts({ enabled: false })), 404, 'M_NOT_FOUND');
    await expectError(await call('PUT', rule('underride', '.m.rule.master', '/actions'), opts({ actions: [] })), 404, 'M_NOT_FOUND');
    await expectError(await call('PUT', rule('override', '.m.rule.master', '/enabled'), opts({})), 400, 'M_MISSING_PARAM');
    await expectError(await call('PUT', rule('override', '.m.rule.master', '/enabled'), opts({ enabled: 'no' })), 400, 'M_BAD_JSON');
    await expectError(await call('PUT', rule('override', '.m.rule.master', '/actions'), opts({ actions: [7] })), 400, 'M_BAD_JSON');
  });

  it('the ruleset is account data m.push_rules: in the initial /sync before any change, and after each change', async () => {
    const a = await registerUser();
    const pushRulesOf = (b: SyncBody) => b.account_data.events.filter((e) => e.type === 'm.push_rules');
    const first = await sync(a);
    expect(pushRulesOf(first)).toEqual([{ type: 'm.push_rules', content: { global: await ruleset(a) } }]);
    // Only an initial sync repeats it when nothing changed.
    const token = await settle(a, first.next_batch);
    expect(pushRulesOf(await sync(a, { since: token }))).toEqual([]);
    // The account-data API cannot write it (405): only the push rules API changes it.
    expect((await call('PUT', `/v3/user/${encodeURIComponent(a.user_id)}/account_data/m.push_rules`, { token: a.access_token, body: {} })).status).toBe(405);

    expect((await call('PUT', rule('override', 'mine'), { token: a.access_token, body: { actions: ['notify'] } })).status).toBe(200);
    const next = await sync(a, { since: token });
    const [event] = pushRulesOf(next);
    expect(event?.content).toEqual({ global: await ruleset(a) });
    expect((event?.content.global as Ruleset).override.map((r) => r.rule_id).slice(0, 2)).toEqual(['.m.rule.master', 'mine']);
    // A filter on account data types applies to it like to any other.
    const filtered = await sync(a, { filter: JSON.stringify({ account_data: { not_types: ['m.push_rules'] } }) });
    expect(pushRulesOf(filtered)).toEqual([]);
  });

  it('wakes a long-polling /sync', async () => {
    const a = await registerUser();
    const token = await settle(a);
    const polling = sync(a, { since: token, timeout: 20_000 });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    expect((await call('PUT', rule('override', '.m.rule.master', '/enabled'), { token: a.access_token, body: { enabled: true } })).status).toBe(200);
    const body = await polling;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(body.account_data.events.map((e) => e.type)).toEqual(['m.push_rules']);
  });
});
