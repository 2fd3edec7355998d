/** Push rules, read side: the predefined ruleset of the caller, one rule by kind and ID, and the 4xx cases. */
import { describe, expect, it } from 'vitest';
import { call, json, registerUser } from './helpers';

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
