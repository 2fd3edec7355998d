/**
 * @module Push rules, read side (spec v1.16, Client-Server API "Push Notifications" / "Push
 * Rules: API"): `GET /_matrix/client/v3/pushrules/`, `GET /_matrix/client/v3/pushrules/global/`,
 * `GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}` and its `/enabled` and `/actions`.
 * https://spec.matrix.org/v1.16/client-server-api/#push-rules-api
 *
 * This increment serves the spec's predefined rules only (core/push/predefined-rules.ts), the
 * same for every user apart from the user ID and localpart they mention. User-defined rules,
 * enabling/disabling and changing actions (`PUT`/`DELETE`), and the `m.push_rules` account data
 * in `/sync` come in a later increment, with storage in the user's object.
 */
import { Hono } from 'hono';
import { predefinedRuleset } from '../../../core/push/predefined-rules';
import { findPushRule, isPushRuleKind, type PushRule } from '../../../core/push/rules';
import { requireAccessToken } from '../../shared/auth';
import { MatrixError } from '../../shared/errors';
import type { HomeserverEnv } from '../env';

/** The rule named by the `{kind}`/`{ruleId}` path, or the error for a bad kind or a missing rule. */
function ruleOf(userId: string, kind: string, ruleId: string): PushRule {
  // The spec's `{kind}` is an enum of the five kinds; anything else is a bad parameter, not a missing rule.
  if (!isPushRuleKind(kind)) throw new MatrixError(400, 'M_INVALID_PARAM', `Unknown push rule kind "${kind}".`);
  const rule = findPushRule(predefinedRuleset(userId), kind, ruleId);
  // Spec: 404 "The push rule does not exist."
  if (!rule) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown push rule.');
  return rule;
}

export const pushRules = new Hono<HomeserverEnv>()
  // "Currently the only push ruleset defined is `global`."
  .get('/v3/pushrules/', requireAccessToken(), (c) => c.json({ global: predefinedRuleset(c.var.auth.userId) }))

  .get('/v3/pushrules/global/', requireAccessToken(), (c) => c.json(predefinedRuleset(c.var.auth.userId)))

  .get('/v3/pushrules/global/:kind/:ruleId', requireAccessToken(), (c) =>
    c.json(ruleOf(c.var.auth.userId, c.req.param('kind'), c.req.param('ruleId'))),
  )

  .get('/v3/pushrules/global/:kind/:ruleId/enabled', requireAccessToken(), (c) =>
    c.json({ enabled: ruleOf(c.var.auth.userId, c.req.param('kind'), c.req.param('ruleId')).enabled }),
  )

  .get('/v3/pushrules/global/:kind/:ruleId/actions', requireAccessToken(), (c) =>
    c.json({ actions: ruleOf(c.var.auth.userId, c.req.param('kind'), c.req.param('ruleId')).actions }),
  );
