/**
 * Runner for `matrix-state-resolution-vectors`, through the server's own path (the WASM core's
 * `resolve_state` and `auth_chain`):
 * - every `resolutions` entry: resolve its `state_sets` given every event of the scenario;
 * - `final.expected_state`: for scenarios of explicit state sets (every resolution free-standing
 *   and no `leaves`), the result of their resolution; otherwise the events form a DAG: walk
 *   them in order (state before = the prev event's state, or the resolution of several; state
 *   after = before plus the event when it is a state event) and resolve the states after its
 *   leaves (`leaves`, or the events no other event lists as a prev event);
 * - `algorithm_vectors.auth_chain_and_conflicted_subgraph.full_auth_chain_cases`.
 * State maps compare order-insensitively. Nothing depends on case ids.
 */
import { isJsonObject, type JsonObject } from '../../../core/canonical-json';
import { getRoomVersionRules, type RoomVersionRules } from '../../../core/room-versions';
import type { MatrixCore } from '../../../wasm/index';
import { authChain, resolveState, type StateTriple } from '../../../wasm/ops';
import type { CaseResult, VectorFormat } from '../types';
import { recogniseBy } from './core-vector-helpers';

const key = (t: StateTriple) => JSON.stringify([t[0], t[1]]);
const sortTriples = (ts: readonly StateTriple[]) => [...ts].map((t) => JSON.stringify(t)).sort();

function triples(v: unknown, what: string): StateTriple[] {
  if (!Array.isArray(v)) throw new TypeError(`${what} must be an array of triples`);
  return v.map((t) => {
    if (!Array.isArray(t) || t.length !== 3 || !t.every((x) => typeof x === 'string')) throw new TypeError(`${what} holds a non-triple`);
    return t as StateTriple;
  });
}

function compare(id: string, got: readonly StateTriple[], expected: readonly StateTriple[]): CaseResult {
  const a = sortTriples(got);
  const b = sortTriples(expected);
  if (a.length === b.length && a.every((x, i) => x === b[i])) return { id, ok: true };
  const missing = b.filter((x) => !a.includes(x));
  const extra = a.filter((x) => !b.includes(x));
  return { id, ok: false, detail: `missing ${missing.join(' ')}; unexpected ${extra.join(' ')}` };
}

const refs = (v: unknown): string[] => (Array.isArray(v) ? v.map((r) => (Array.isArray(r) ? String(r[0]) : String(r))) : []);

/** State after every event, walking `events` in their (topological) order. */
function walk(core: MatrixCore, rules: RoomVersionRules, events: JsonObject[]): Map<string, StateTriple[]> {
  const after = new Map<string, StateTriple[]>();
  for (const e of events) {
    const prevs = refs(e.prev_events).map((p) => {
      const s = after.get(p);
      if (!s) throw new TypeError(`prev event ${p} of ${String(e.event_id)} comes later or is missing`);
      return s;
    });
    const before = prevs.length === 0 ? [] : prevs.length === 1 ? prevs[0]! : resolveState(core, { rules, state_sets: prevs, events });
    let state = before;
    if (typeof e.state_key === 'string') {
      const t: StateTriple = [String(e.type), e.state_key, String(e.event_id)];
      state = [...before.filter((x) => key(x) !== key(t)), t];
    }
    after.set(String(e.event_id), state);
  }
  return after;
}

function runScenario(core: MatrixCore, s: JsonObject, index: number): CaseResult[] {
  const id = typeof s.id === 'string' ? s.id : `scenario ${index}`;
  const rules = getRoomVersionRules(String(s.room_version));
  if (!rules) return [{ id, ok: false, detail: `unknown room version ${String(s.room_version)}` }];
  const events = Array.isArray(s.events) ? s.events.filter(isJsonObject) : [];
  const out: CaseResult[] = [];
  const resolutions = Array.isArray(s.resolutions) ? s.resolutions.filter(isJsonObject) : [];
  let lastResult: StateTriple[] | undefined;
  resolutions.forEach((r, i) => {
    const rid = `${id} resolution ${i}${r.at_event ? ` at ${String(r.at_event)}` : ''}`;
    try {
      lastResult = resolveState(core, { rules, state_sets: (r.state_sets as unknown[]).map((x, j) => triples(x, `state_sets[${j}]`)), events });
      out.push(compare(rid, lastResult, triples(r.expected, 'expected')));
    } catch (e) {
      out.push({ id: rid, ok: false, detail: `cannot run: ${(e as Error).message}` });
    }
  });
  const final = isJsonObject(s.final) ? s.final : undefined;
  if (final?.expected_state !== undefined) {
    const fid = `${id} final state`;
    try {
      let got: StateTriple[];
      const explicit = resolutions.length > 0 && resolutions.every((r) => r.at_event === null || r.at_event === undefined);
      if (!Array.isArray(s.leaves) && explicit && lastResult) {
        // Explicit state sets: the scenario's assertion is its resolution's result.
        got = lastResult;
      } else {
        // A DAG: resolve the states after its leaves (given, or the events nobody lists as prev).
        const after = walk(core, rules, events);
        const referenced = new Set(events.flatMap((e) => refs(e.prev_events)));
        const leaves = Array.isArray(s.leaves) ? s.leaves.map(String) : events.map((e) => String(e.event_id)).filter((e) => !referenced.has(e));
        const states = leaves.map((l) => {
          const state = after.get(l);
          if (!state) throw new TypeError(`leaf ${l} is not an event of the scenario`);
          return state;
        });
        got = states.length === 1 ? states[0]! : resolveState(core, { rules, state_sets: states, events });
      }
      out.push(compare(fid, got, triples(final.expected_state, 'final.expected_state')));
    } catch (e) {
      out.push({ id: fid, ok: false, detail: `cannot run: ${(e as Error).message}` });
    }
  }
  return out;
}

function runAuthChains(core: MatrixCore, algorithms: JsonObject): CaseResult[] {
  const v = algorithms.auth_chain_and_conflicted_subgraph;
  if (!isJsonObject(v) || !isJsonObject(v.auth_graph) || !Array.isArray(v.full_auth_chain_cases)) return [];
  const events: JsonObject[] = Object.entries(v.auth_graph).map(([eventId, auth]) => ({
    event_id: eventId,
    type: 'm.room.member',
    state_key: eventId,
    sender: '@a:x',
    room_id: '!r:x',
    content: {},
    origin_server_ts: 0,
    prev_events: [],
    auth_events: refs(auth),
  }));
  return v.full_auth_chain_cases.filter(isJsonObject).map((c, i) => {
    const cid = `${String(v.id ?? 'auth chain')} ${String(c.name ?? i)}`;
    try {
      const got = authChain(core, { events, event_ids: refs(c.start_events) }).sort();
      const expected = refs(c.expected_full_auth_chain).sort();
      return JSON.stringify(got) === JSON.stringify(expected) ? { id: cid, ok: true } : { id: cid, ok: false, detail: `got ${got.join(',')}, expected ${expected.join(',')}` };
    } catch (e) {
      return { id: cid, ok: false, detail: `cannot run: ${(e as Error).message}` };
    }
  });
}

export const format: VectorFormat = {
  name: 'state_resolution',
  recognise: (fileName, json) => recogniseBy('matrix-state-resolution-vectors', fileName, json, ['state_resolution_v2.json']),
  async run(json, ctx) {
    if (!isJsonObject(json) || !Array.isArray(json.scenarios)) throw new TypeError('state resolution vectors need a "scenarios" array');
    const results = json.scenarios.filter(isJsonObject).flatMap((s, i) => runScenario(ctx.core, s, i));
    if (isJsonObject(json.algorithm_vectors)) results.push(...runAuthChains(ctx.core, json.algorithm_vectors));
    return results;
  },
};
