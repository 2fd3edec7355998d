/**
 * Runner for `matrix-event-auth-vectors`: each case goes through the server's own path, the
 * WASM core's `auth_check`, with third-party-invite signatures verified by the server's
 * function (core/auth/third-party-invite.ts). `allowed` must match, and for a denial the
 * reason code too. A case whose scope the core does not know counts as failed.
 */
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { getRoomVersionRules } from '../../../core/room-versions';
import { thirdPartyKeyVerdicts } from '../../../core/auth/third-party-invite';
import { authCheck, type AuthScope } from '../../../wasm/ops';
import type { CaseResult, VectorFormat } from '../types';
import { recogniseBy } from './core-vector-helpers';

const SCOPES: readonly string[] = ['full', 'state_dependent', 'state_independent', 'format_and_auth'];

const events = (v: unknown): JsonObject[] => (Array.isArray(v) ? v.filter(isJsonObject) : []);

export const format: VectorFormat = {
  name: 'event_auth',
  recognise: (fileName, json) => recogniseBy('matrix-event-auth-vectors', fileName, json, ['event_auth.json']),
  async run(json, ctx) {
    if (!isJsonObject(json) || !Array.isArray(json.cases)) throw new TypeError('event auth vectors need a "cases" array');
    const results: CaseResult[] = [];
    for (const [i, c] of json.cases.entries()) {
      const id = isJsonObject(c) && typeof c.id === 'string' ? c.id : `case ${i}`;
      try {
        if (!isJsonObject(c) || !isJsonObject(c.event) || !isJsonObject(c.expected)) throw new TypeError('case needs event and expected');
        const rules = getRoomVersionRules(String(c.room_version));
        if (!rules) throw new TypeError(`unknown room version ${String(c.room_version)}`);
        const scope = String(c.check_scope ?? 'state_dependent');
        if (!SCOPES.includes(scope)) throw new TypeError(`unknown check_scope ${scope}`);
        const authState = events(c.auth_state);
        const otherEvents = events(c.other_events);
        const keys = await thirdPartyKeyVerdicts(c.event, [...authState, ...otherEvents], ctx.ed25519);
        const verdict = authCheck(ctx.core, {
          rules,
          scope: scope as AuthScope,
          event: c.event,
          auth_state: authState,
          other_events: otherEvents,
          rejected_event_ids: Array.isArray(c.rejected_event_ids) ? c.rejected_event_ids.map(String) : [],
          third_party_verified: keys.length > 0 ? { [String(c.event.event_id)]: keys } : {},
        });
        const expected = c.expected;
        let detail: string | undefined;
        if (verdict.allowed !== expected.allowed) {
          detail = `expected ${expected.allowed ? 'allowed' : 'denied'}, got ${verdict.allowed ? 'allowed' : `denied (${verdict.reason}: ${verdict.message})`}`;
        } else if (!verdict.allowed && typeof expected.reason === 'string' && verdict.reason !== expected.reason) {
          detail = `denied for ${verdict.reason} (${verdict.message}), expected ${expected.reason}`;
        }
        results.push(detail ? { id, ok: false, detail } : { id, ok: true });
      } catch (e) {
        results.push({ id, ok: false, detail: `cannot run: ${(e as Error).message}` });
      }
    }
    return results;
  },
};
