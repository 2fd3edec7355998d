/**
 * Typed requests and answers of the WASM core's operations (wasm/src/auth/request.rs,
 * wasm/src/state_res/ffi.rs). The crate owns the auth rules and state resolution; this file
 * only names the wire shapes, so callers never build them by hand.
 */
import type { JsonObject } from '../core/canonical-json';
import type { RoomVersionRules } from '../core/room-versions';
import type { MatrixCore } from './index';

/** A state map on the wire: `[type, state_key, event_id]`. */
export type StateTriple = [type: string, stateKey: string, eventId: string];

/** Host verdicts on third-party-invite signatures: event ID -> public keys that verify. */
export type ThirdPartyVerified = Record<string, string[]>;

export type AuthScope = 'full' | 'state_independent' | 'state_dependent' | 'format_and_auth';

export interface AuthCheckRequest {
  rules: RoomVersionRules;
  scope: AuthScope;
  /** Events carry `event_id` (added by the host for v3+ formats). */
  event: JsonObject;
  auth_state: JsonObject[];
  other_events?: JsonObject[];
  rejected_event_ids?: string[];
  third_party_verified?: ThirdPartyVerified;
}

export type AuthVerdict = { allowed: true } | { allowed: false; reason: string; message: string };

export interface ResolveStateRequest {
  rules: RoomVersionRules;
  state_sets: StateTriple[][];
  /** Every event the resolution may need: the state sets' events and their auth chains. */
  events: JsonObject[];
  third_party_verified?: ThirdPartyVerified;
  /** Events known to be rejected: never used as auth events in the iterative auth checks (spec). */
  rejected?: string[];
}

export interface AuthTypesRequest {
  rules: RoomVersionRules;
  event: JsonObject;
}

/** Rules are constant per room version: serialise each table entry once. */
const rulesJson = new WeakMap<RoomVersionRules, string>();

/** The request as JSON, with the `rules` member taken from the cache. */
function request(req: { rules: RoomVersionRules }): string {
  let rules = rulesJson.get(req.rules);
  if (rules === undefined) {
    rules = JSON.stringify(req.rules);
    rulesJson.set(req.rules, rules);
  }
  // `undefined` members are left out by JSON.stringify, so `rest` has every member but rules.
  const rest = JSON.stringify({ ...req, rules: undefined });
  return rest === '{}' ? `{"rules":${rules}}` : `{"rules":${rules},${rest.slice(1)}`;
}

export const authCheck = (core: MatrixCore, req: AuthCheckRequest): AuthVerdict => core.callJson('auth_check', request(req));

export const resolveState = (core: MatrixCore, req: ResolveStateRequest): StateTriple[] => core.callJson('resolve_state', request(req));

/** The spec's auth events selection: which `(type, state_key)` pairs may authorise `event`. */
export const authTypes = (core: MatrixCore, req: AuthTypesRequest): [string, string][] => core.callJson('auth_types', request(req));

export interface RedactionAllowedRequest {
  rules: RoomVersionRules;
  redaction: JsonObject;
  target_sender: string;
  /** Create, power-levels and the redaction sender's member event from the state before it. */
  auth_state: JsonObject[];
}

/** Whether an accepted redaction may be applied to its target (room version 3+ rule). */
export const redactionAllowed = (core: MatrixCore, req: RedactionAllowedRequest): { allowed: boolean; message?: string } =>
  core.callJson('redaction_allowed', request(req));

/** The union of the auth chains of `event_ids` (spec definition: excluding the events themselves). */
export const authChain = (core: MatrixCore, req: { events: JsonObject[]; event_ids: string[] }): string[] => core.call('auth_chain', req);
