#!/usr/bin/env node
// Generates ../state_resolution_synapse.json: Synapse's state-resolution test scenarios
// (tests/state/test_v2.py and tests/state/test_v21.py) re-expressed as data in the
// `matrix-state-resolution-vectors` format (see /work/shared/vectors/README.md, section 1).
//
// Nothing here is Synapse code: the compact descriptions below were written from reading the
// tests, and the construction follows the README's rules:
//   * Synapse's DAG edge chains become `prev_events` (A -> B means B is a prev event of A);
//   * events are created in lexicographical topological order of that DAG (referenced events
//     first, ties by node name) with origin_server_ts = 0, 1, 2, ...;
//   * auth_events = the spec's auth events selection applied to the state before the event;
//   * the create content gains "room_version" (Synapse used room v2 and omitted it);
//   * final.expected_state = state at START overlaid with the events Synapse lists.
// The state before a merge point (an event with several prev events) is needed to pick the
// auth_events of later events; it is never computed by a resolver here. At END it follows from
// Synapse's assertion (source-asserted); at any other merge point it must be given explicitly
// in the description (`derived_merges`, hand-derived, documented in `reasoning`). The script
// checks that every given merge result is consistent (unconflicted keys kept, each conflicted
// key resolved to one of its candidates or to nothing).
//
// Usage: node test/vectors/own/tools/gen-synapse-state-res.mjs [--check]
//   --check: do not write, exit 1 when the file on disk differs from what would be generated.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'state_resolution_synapse.json');

const SYNAPSE = {
  repo: 'element-hq/synapse',
  commit: 'a58ad44eb0ce3cc14153f921206f322e17339dc5',
};

const ALICE = '@alice:example.com';
const BOB = '@bob:example.com';
const CHARLIE = '@charlie:example.com';
const EVELYN = '@evelyn:example.com';
const ZARA = '@zara:example.com';

const CREATE = 'm.room.create';
const MEMBER = 'm.room.member';
const PL = 'm.room.power_levels';
const JR = 'm.room.join_rules';
const TOPIC = 'm.room.topic';
const MESSAGE = 'm.room.message';

const JOIN = { membership: 'join' };
const BAN = { membership: 'ban' };
const LEAVE = { membership: 'leave' };

// ------------------------------------------------------------------------------------------
// Compact descriptions. Event tuple: [node, sender, type, state_key | null, content].
// ------------------------------------------------------------------------------------------

// test_v2.py: the events every StateTestCase graph starts with, and their chain.
const V2_INITIAL_EVENTS = [
  ['CREATE', ALICE, CREATE, '', { creator: ALICE }],
  ['IMA', ALICE, MEMBER, ALICE, JOIN],
  ['IPOWER', ALICE, PL, '', { users: { [ALICE]: 100 } }],
  ['IJR', ALICE, JR, '', { join_rule: 'public' }],
  ['IMB', BOB, MEMBER, BOB, JOIN],
  ['IMC', CHARLIE, MEMBER, CHARLIE, JOIN],
  ['IMZ', ZARA, MEMBER, ZARA, JOIN],
  ['START', ZARA, MESSAGE, null, {}],
  ['END', ZARA, MESSAGE, null, {}],
];
const V2_INITIAL_EDGES = ['START', 'IMZ', 'IMC', 'IMB', 'IJR', 'IPOWER', 'IMA', 'CREATE'];

const V2_DAG_SCENARIOS = [
  {
    name: 'ban_vs_pl',
    title: 'Ban vs power levels',
    description:
      'Alice bans Bob on one fork while Bob, on another, sends a power levels event. The ban wins; Bob\'s power levels event is rejected because he is banned.',
    events: [
      ['PA', ALICE, PL, '', { users: { [ALICE]: 100, [BOB]: 50 } }],
      ['MA', ALICE, MEMBER, ALICE, { membership: 'join' }],
      ['MB', ALICE, MEMBER, BOB, BAN],
      ['PB', BOB, PL, '', { users: { [ALICE]: 100, [BOB]: 50 } }],
    ],
    edges: [
      ['END', 'MB', 'MA', 'PA', 'START'],
      ['END', 'PB', 'PA'],
    ],
    expected: ['PA', 'MA', 'MB'],
  },
  {
    name: 'join_rule_evasion',
    title: 'Join rule evasion',
    description:
      'Alice changes the join rules while Evelyn joins concurrently. The join rules change is applied first, so Evelyn\'s join is rejected and she is not in the resolved state.',
    events: [
      // Synapse's content key really is "join_rules" (not "join_rule"): kept as written.
      ['JR', ALICE, JR, '', { join_rules: 'private' }],
      ['ME', EVELYN, MEMBER, EVELYN, JOIN],
    ],
    edges: [
      ['END', 'JR', 'START'],
      ['END', 'ME', 'START'],
    ],
    expected: ['JR'],
    notes: [
      'JR\'s content is {"join_rules": "private"} exactly as in Synapse\'s test (the key is "join_rules", not "join_rule"). The resolved join rules therefore carry no "join_rule" value at all, which is not "public", so Evelyn\'s self-join fails the auth rules either way.',
    ],
  },
  {
    name: 'offtopic_pl',
    title: 'Off-topic power levels',
    description:
      'A chain of power levels changes (Alice, then Bob, then Charlie) conflicts with the first of them alone; the end of the chain (Charlie\'s) wins.',
    events: [
      ['PA', ALICE, PL, '', { users: { [ALICE]: 100, [BOB]: 50 } }],
      ['PB', BOB, PL, '', { users: { [ALICE]: 100, [BOB]: 50, [CHARLIE]: 50 } }],
      ['PC', CHARLIE, PL, '', { users: { [ALICE]: 100, [BOB]: 50, [CHARLIE]: 0 } }],
    ],
    edges: [
      ['END', 'PC', 'PB', 'PA', 'START'],
      ['END', 'PA'],
    ],
    expected: ['PC'],
  },
  {
    name: 'topic_basic',
    title: 'Topic basic',
    description:
      'Alice demotes Bob (PA2) while Bob re-sends power levels (PB) and sets a topic (T3). Alice\'s power levels win and Bob\'s topic is rejected; Alice\'s topic T2 stays.',
    events: [
      ['T1', ALICE, TOPIC, '', {}],
      ['PA1', ALICE, PL, '', { users: { [ALICE]: 100, [BOB]: 50 } }],
      ['T2', ALICE, TOPIC, '', {}],
      ['PA2', ALICE, PL, '', { users: { [ALICE]: 100, [BOB]: 0 } }],
      ['PB', BOB, PL, '', { users: { [ALICE]: 100, [BOB]: 50 } }],
      ['T3', BOB, TOPIC, '', {}],
    ],
    edges: [
      ['END', 'PA2', 'T2', 'PA1', 'T1', 'START'],
      ['END', 'T3', 'PB', 'PA1'],
    ],
    expected: ['PA2', 'T2'],
  },
  {
    name: 'topic_reset',
    title: 'Topic reset',
    description:
      'Bob sets a topic (T2) and is then banned by Alice (MB); a fork still at T1 merges in. Bob\'s topic is rejected in the resolution, so the topic resets to T1.',
    events: [
      ['T1', ALICE, TOPIC, '', {}],
      ['PA', ALICE, PL, '', { users: { [ALICE]: 100, [BOB]: 50 } }],
      ['T2', BOB, TOPIC, '', {}],
      ['MB', ALICE, MEMBER, BOB, BAN],
    ],
    edges: [
      ['END', 'MB', 'T2', 'PA', 'T1', 'START'],
      ['END', 'T1'],
    ],
    expected: ['T1', 'MB', 'PA'],
  },
  {
    name: 'topic',
    title: 'Topic',
    description:
      'Like topic_basic, but the forks first merge at a message (MZ1) after which Alice sets topic T4; the final merge of T4 with MZ1 keeps T4 and Alice\'s power levels PA2.',
    events: [
      ['T1', ALICE, TOPIC, '', {}],
      ['PA1', ALICE, PL, '', { users: { [ALICE]: 100, [BOB]: 50 } }],
      ['T2', ALICE, TOPIC, '', {}],
      ['PA2', ALICE, PL, '', { users: { [ALICE]: 100, [BOB]: 0 } }],
      ['PB', BOB, PL, '', { users: { [ALICE]: 100, [BOB]: 50 } }],
      ['T3', BOB, TOPIC, '', {}],
      ['MZ1', ZARA, MESSAGE, null, {}],
      ['T4', ALICE, TOPIC, '', {}],
    ],
    edges: [
      ['END', 'T4', 'MZ1', 'PA2', 'T2', 'PA1', 'T1', 'START'],
      ['END', 'MZ1', 'T3', 'PB', 'PA1'],
    ],
    expected: ['T4', 'PA2'],
    derived_merges: {
      MZ1: {
        winners: { [`${PL}|`]: 'PA2', [`${TOPIC}|`]: 'T2' },
        reasoning:
          'State sets: after PA2 (topic T2, power levels PA2) and after T3 (topic T3, power levels PB). Conflicted: topic {T2,T3}, power levels {PA2,PB}. Auth difference (spec definition, auth chains exclude the state events themselves) = {IMB, PB} (both only in the auth chain of the T3 set). Power events sorted: PA2 (sender Alice, 100 under PA1) before PB (sender Bob, 50 under PA1). Iterative auth checks from the unconflicted state: PA2 allowed (Alice 100 may lower Bob 50 -> 0); PB rejected (against PA2 Bob has 0 < state_default 50). Mainline of PA2: PA2 -> PA1 -> IPOWER; IMB (Bob\'s self-join) attaches at IPOWER and comes first, allowed (public join rules) and unconflicted anyway; T2 and T3 both attach at PA1 (T3 via PB -> PA1); tie broken by origin_server_ts, T2 (ts 11) before T3 (ts 13). T2 allowed (Alice 100), T3 rejected (Bob 0 < 50). Result: topic T2, power levels PA2, everything else as at START.',
      },
    },
  },
  {
    name: 'mainline_sort',
    title: 'Mainline sort',
    description:
      'Topics T3 (after Alice\'s PA2) and T4 (after Bob\'s PB) conflict. T3 wins because T4 points at an older power levels event on the mainline, even though T4 was sent later.',
    events: [
      ['T1', ALICE, TOPIC, '', {}],
      ['PA1', ALICE, PL, '', { users: { [ALICE]: 100, [BOB]: 50 } }],
      ['T2', ALICE, TOPIC, '', {}],
      ['PA2', ALICE, PL, '', { users: { [ALICE]: 100, [BOB]: 50 }, events: { [PL]: 100 } }],
      ['PB', BOB, PL, '', { users: { [ALICE]: 100, [BOB]: 50 } }],
      ['T3', BOB, TOPIC, '', {}],
      ['T4', ALICE, TOPIC, '', {}],
    ],
    edges: [
      ['END', 'T3', 'PA2', 'T2', 'PA1', 'T1', 'START'],
      ['END', 'T4', 'PB', 'PA1'],
    ],
    expected: ['T3', 'PA2'],
  },
];

// test_v2.py SimpleParamStateTestCase: explicit events, explicit state sets.
const V2_CONCURRENT_JOINS = {
  id: 'synapse/test_v2/concurrent_joins_no_power_levels',
  test: 'SimpleParamStateTestCase.test_event_map_none',
  title: 'Concurrent joins, no power levels',
  description:
    'A room without a power levels event: Bob and Charlie join concurrently after the public join rules. Resolving the two states keeps both joins.',
  room_version: '10',
  ts_start: 0,
  id_of: (n) => `$${n}:example.com`,
  room_id: '!test:example.com',
  // [node, sender, type, state_key, content, auth (nodes), prev (nodes)]
  events: [
    ['CREATE', ALICE, CREATE, '', { creator: ALICE }, [], []],
    ['IMA', ALICE, MEMBER, ALICE, JOIN, ['CREATE'], ['CREATE']],
    ['IJR', ALICE, JR, '', { join_rule: 'public' }, ['CREATE', 'IMA'], ['IMA']],
    ['IMB', BOB, MEMBER, BOB, JOIN, ['CREATE', 'IJR'], ['IJR']],
    ['IMC', CHARLIE, MEMBER, CHARLIE, JOIN, ['CREATE', 'IJR'], ['IJR']],
  ],
  state_sets: {
    state_at_bob: ['CREATE', 'IMA', 'IJR', 'IMB'],
    state_at_charlie: ['CREATE', 'IMA', 'IJR', 'IMC'],
  },
  expected: ['CREATE', 'IMA', 'IJR', 'IMB', 'IMC'],
  notes: [
    'Events, auth_events and prev_events as in Synapse\'s setUp (IMB and IMC cite only CREATE and IJR: there is no power levels event, so the creator named in the create content has power 100 and everyone else 0).',
    'origin_server_ts 0..4 in creation order (Synapse uses one module-wide counter, so only the relative order is meaningful).',
  ],
};

// test_v21.py (room v12 = Synapse's org.matrix.hydra.11): explicit events, explicit state sets.
// Symbolic IDs after Synapse's variable names; room ID = "!" + create event ID without "$".
const V21_SCENARIOS = [
  {
    id: 'synapse/test_v21/state_reset_replay_conflicted_subgraph',
    test: 'StateResV21TestCase.test_state_reset_replay_conflicted_subgraph',
    title: 'State reset: replay the conflicted subgraph',
    description:
      'Evelyn\'s rename (ME2) cites the old power levels (POWER1) directly but the newer ones (POWER3) indirectly through her join (ME1). Resolving the "dodgy" state after the rename with a sensible state after Zara\'s join must not reset the power levels: v2.1 replays the conflicted subgraph (ME1, POWER2, ...) and keeps POWER3 and ME1.',
    events: [
      ['e1_create', ALICE, CREATE, '', { creator: ALICE }, [], []],
      ['e2_ma', ALICE, MEMBER, ALICE, JOIN, [], ['e1_create']],
      ['e3_power1', ALICE, PL, '', { users: {} }, ['e2_ma'], []],
      ['e4_jr', ALICE, JR, '', { join_rule: 'public' }, ['e2_ma', 'e3_power1'], []],
      ['e5_mb', BOB, MEMBER, BOB, JOIN, ['e3_power1', 'e4_jr'], []],
      ['e6_mc', CHARLIE, MEMBER, CHARLIE, JOIN, ['e3_power1', 'e4_jr'], []],
      ['e7_power2', ALICE, PL, '', { users: { [BOB]: 50 } }, ['e2_ma', 'e3_power1'], []],
      ['e8_power3', BOB, PL, '', { users: { [BOB]: 50, [CHARLIE]: 50 } }, ['e5_mb', 'e7_power2'], []],
      ['e9_me1', EVELYN, MEMBER, EVELYN, JOIN, ['e8_power3', 'e4_jr'], []],
      ['e10_me2', EVELYN, MEMBER, EVELYN, JOIN, ['e3_power1', 'e4_jr', 'e9_me1'], []],
      ['e11_mz', ZARA, MEMBER, ZARA, JOIN, ['e8_power3', 'e4_jr'], []],
    ],
    state_sets: {
      dodgy_state_after_eve_rename: ['e1_create', 'e2_ma', 'e5_mb', 'e6_mc', 'e10_me2', 'e3_power1', 'e4_jr'],
      sensible_state_after_zara_joins: ['e1_create', 'e2_ma', 'e5_mb', 'e6_mc', 'e11_mz', 'e8_power3', 'e4_jr'],
    },
    expected: ['e1_create', 'e2_ma', 'e5_mb', 'e6_mc', 'e9_me1', 'e11_mz', 'e8_power3', 'e4_jr'],
  },
  {
    id: 'synapse/test_v21/state_reset_start_empty_set',
    test: 'StateResV21TestCase.test_state_reset_start_empty_set',
    title: 'State reset: iterative auth checks start from the empty set',
    description:
      'Alice (the creator) changes the join rules from public (JR1) to invite (JR2) and leaves. A fork citing the old join rules must not reset them: v2.1 starts the iterative auth checks from an empty state map, so JR2 (checked after JR1) wins.',
    events: [
      ['e1_create', ALICE, CREATE, '', { creator: ALICE }, [], []],
      ['e2_ma1', ALICE, MEMBER, ALICE, JOIN, [], []],
      ['e3_power', ALICE, PL, '', { users: { [BOB]: 100 } }, ['e2_ma1'], []],
      ['e4_jr1', ALICE, JR, '', { join_rule: 'public' }, ['e2_ma1', 'e3_power'], []],
      ['e5_mb', BOB, MEMBER, BOB, JOIN, ['e3_power', 'e4_jr1'], []],
      ['e6_jr2', ALICE, JR, '', { join_rule: 'invite' }, ['e2_ma1', 'e3_power'], []],
      ['e7_ma2', ALICE, MEMBER, ALICE, LEAVE, ['e3_power', 'e2_ma1'], []],
    ],
    state_sets: {
      correct_state: ['e1_create', 'e7_ma2', 'e5_mb', 'e3_power', 'e6_jr2'],
      incorrect_state: ['e1_create', 'e7_ma2', 'e5_mb', 'e3_power', 'e4_jr1'],
    },
    expected: ['e1_create', 'e7_ma2', 'e5_mb', 'e3_power', 'e6_jr2'],
  },
];

// ------------------------------------------------------------------------------------------
// Construction helpers.
// ------------------------------------------------------------------------------------------

const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const keyOf = (type, sk) => `${type}|${sk}`;
const cmpTriple = (x, y) => cmp(x[0], y[0]) || cmp(x[1], y[1]) || cmp(x[2], y[2]);

/** A state map (Map "type|state_key" -> event_id) as sorted triples. */
function triplesOf(state, eventsById) {
  return [...state.values()]
    .map((id) => {
      const e = eventsById.get(id);
      return [e.type, e.state_key, id];
    })
    .sort(cmpTriple);
}

/** Union of the auth chains (spec definition: auth events, recursively, excluding E) of a state set. */
function authChainOfSet(ids, eventsById) {
  const seen = new Set();
  const stack = ids.flatMap((id) => eventsById.get(id).auth_events);
  while (stack.length) {
    const id = stack.pop();
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...eventsById.get(id).auth_events);
  }
  return [...seen].sort(cmp);
}

/** The spec's auth events selection (Client-Server/Server-Server "auth events selection"). */
function authKeys(ev) {
  if (ev.type === CREATE) return [];
  const keys = [keyOf(CREATE, ''), keyOf(PL, ''), keyOf(MEMBER, ev.sender)];
  if (ev.type === MEMBER) {
    keys.push(keyOf(MEMBER, ev.state_key));
    const m = ev.content.membership;
    if (m === 'join' || m === 'invite' || m === 'knock') keys.push(keyOf(JR, ''));
    if (m === 'invite' && ev.content.third_party_invite) throw new Error('third-party invites not needed here');
  }
  return [...new Set(keys)];
}

/** Lexicographical topological sort: referenced nodes first, smallest name first among the ready. */
function lexTopoSort(graph) {
  const out = [];
  const remaining = new Map([...graph].map(([n, refs]) => [n, new Set(refs)]));
  while (remaining.size) {
    const ready = [...remaining].filter(([, refs]) => [...refs].every((r) => !remaining.has(r))).map(([n]) => n).sort(cmp);
    if (!ready.length) throw new Error('cycle in DAG');
    out.push(ready[0]);
    remaining.delete(ready[0]);
  }
  return out;
}

function makeEvent(base, roomId, [node, sender, type, sk, content], ts) {
  const e = { event_id: base(node) };
  if (roomId !== undefined) e.room_id = roomId;
  Object.assign(e, { sender, type, content: structuredClone(content) });
  if (sk !== null) e.state_key = sk;
  e.origin_server_ts = ts;
  return e;
}

function v2DagScenario(desc) {
  const id = (n) => `$${n}:example.com`;
  const nodeOf = (eid) => eid.slice(1, eid.indexOf(':'));
  const all = [...V2_INITIAL_EVENTS, ...desc.events];
  const byNode = new Map(all.map((t) => [t[0], t]));
  if (byNode.size !== all.length) throw new Error(`${desc.name}: duplicate node`);
  const graph = new Map(all.map((t) => [t[0], new Set()]));
  const chains = [V2_INITIAL_EDGES, ...desc.edges];
  for (const chain of chains) for (let i = 0; i + 1 < chain.length; i++) graph.get(chain[i]).add(chain[i + 1]);

  const order = lexTopoSort(graph);
  const eventsById = new Map();
  const events = [];
  const stateAfter = new Map(); // node -> Map(key -> event_id)
  const resolutions = [];
  const merges = [];

  // The full expected state at END: state at START overlaid with Synapse's listed events. Only
  // known once START is built, so merges at END are handled lazily below.
  let expectedEnd;

  order.forEach((node, ts) => {
    const tuple = byNode.get(node);
    const prevs = [...graph.get(node)].sort(cmp);
    let before;
    if (prevs.length === 0) before = new Map();
    else if (prevs.length === 1) before = new Map(stateAfter.get(prevs[0]));
    else {
      const sets = prevs.map((p) => stateAfter.get(p));
      const allKeys = new Set(sets.flatMap((s) => [...s.keys()]));
      const unconflicted = new Map();
      const conflicted = new Map();
      for (const k of allKeys) {
        const vals = new Set(sets.map((s) => s.get(k) ?? null));
        if (vals.size === 1 && !vals.has(null)) unconflicted.set(k, [...vals][0]);
        else conflicted.set(k, vals);
      }
      let winners;
      let provenance;
      let reasoning;
      if (node === 'END') {
        winners = {};
        for (const k of conflicted.keys()) winners[k] = expectedEnd.get(k) ? nodeOf(expectedEnd.get(k)) : null;
        for (const k of expectedEnd.keys()) if (!allKeys.has(k)) throw new Error(`${desc.name}: expected key ${k} in no state set at END`);
        provenance = 'source-asserted';
      } else {
        const d = desc.derived_merges?.[node];
        if (!d) throw new Error(`${desc.name}: merge point ${node} needs a derived_merges entry`);
        winners = d.winners;
        reasoning = d.reasoning;
        provenance = 'derived';
      }
      before = new Map(unconflicted);
      for (const [k, vals] of conflicted) {
        if (!(k in winners)) throw new Error(`${desc.name}: no winner given for conflicted ${k} at ${node}`);
        const w = winners[k] === null ? null : id(winners[k]);
        if (!vals.has(w)) throw new Error(`${desc.name}: winner ${w} for ${k} at ${node} is not a candidate`);
        if (w !== null) before.set(k, w);
      }
      for (const k of Object.keys(winners)) if (!conflicted.has(k)) throw new Error(`${desc.name}: ${k} is not conflicted at ${node}`);
      if (node === 'END') {
        const a = JSON.stringify([...before].sort());
        const b = JSON.stringify([...expectedEnd].sort());
        if (a !== b) throw new Error(`${desc.name}: expected END state is inconsistent with the unconflicted state: ${a} vs ${b}`);
      }
      merges.push({ node, prevs, provenance, reasoning, before });
    }

    const ev = makeEvent(id, '!test:example.com', tuple, ts);
    if (ev.type === CREATE) ev.content.room_version = '10';
    ev.prev_events = prevs.map(id);
    ev.auth_events = authKeys(ev).filter((k) => before.has(k)).map((k) => before.get(k));
    events.push(ev);
    eventsById.set(ev.event_id, ev);

    const after = new Map(before);
    if (ev.state_key !== undefined) after.set(keyOf(ev.type, ev.state_key), ev.event_id);
    stateAfter.set(node, after);

    if (node === 'START') {
      expectedEnd = new Map(after);
      for (const n of desc.expected) {
        const t = byNode.get(n);
        if (t[3] === null) throw new Error(`${desc.name}: expected ${n} is not a state event`);
        expectedEnd.set(keyOf(t[2], t[3]), id(n));
      }
    }
  });

  for (const m of merges) {
    const stateSets = m.prevs.map((p) => triplesOf(stateAfter.get(p), eventsById));
    const r = {
      at_event: id(m.node),
      prev_events: m.prevs.map(id),
      state_sets: stateSets,
      auth_chains: stateSets.map((s) => authChainOfSet(s.map((t) => t[2]), eventsById)),
      expected: triplesOf(m.before, eventsById),
      expected_provenance: m.provenance,
    };
    if (m.provenance === 'source-asserted') {
      r.provenance_note =
        'The state before END is the state at END that Synapse asserts (every key that differs from START is listed in the test, and every key of START is present in every state set).';
    } else {
      r.derivation = m.reasoning;
    }
    resolutions.push(r);
  }

  const final = triplesOf(stateAfter.get('END'), eventsById);
  const expectedTriples = triplesOf(expectedEnd, eventsById);
  if (JSON.stringify(final) !== JSON.stringify(expectedTriples)) throw new Error(`${desc.name}: END state differs from expectation`);

  return {
    id: `synapse/test_v2/${desc.name}`,
    title: desc.title,
    description: desc.description,
    source: { repo: SYNAPSE.repo, path: 'tests/state/test_v2.py', test: `StateTestCase.test_${desc.name}`, commit: SYNAPSE.commit },
    room_version: '10',
    state_res_algorithm: 'v2.0',
    events,
    resolutions,
    final: {
      meaning:
        'state at END (a message whose prev_events are the DAG heads), i.e. the resolution of the states after END\'s prev events; END is the only event that is nobody\'s prev_event',
      expected_state: expectedTriples,
      provenance: 'source-asserted (implied by Synapse\'s assertion, see source_assertion)',
      source_assertion: {
        state_at: id('END'),
        baseline: id('START'),
        expected_state_ids: desc.expected.map(id),
        compares:
          'Synapse asserts that the state at END, restricted to the keys of expected_state_ids plus every key whose event differs from the state at START, equals exactly the listed events. Keys not listed are therefore unchanged since START, which gives expected_state = state at START overlaid with the listed events.',
      },
    },
    construction: {
      dag_edges_source: {
        initial_chain: V2_INITIAL_EDGES,
        test_chains: desc.edges,
        meaning: 'each chain [A, B, C, ...] is the edges A->B, B->C, ...; A->B makes B a prev event of A',
      },
      topological_order: order.map(id),
      origin_server_ts: '0, 1, 2, ... in topological_order (lexicographical topological sort of the DAG, referenced events first, ties by node name). Synapse uses one module-wide counter, so only the relative order matters.',
      auth_events:
        'the spec\'s auth events selection applied to the state before the event: m.room.create, m.room.power_levels, the sender\'s m.room.member, and for m.room.member events the target\'s m.room.member and (join/invite/knock) m.room.join_rules, those present; listed in that order. The state before an event with several prev events is the resolution listed in `resolutions` for it.',
      event_ids: 'symbolic: "$" + Synapse node name + ":example.com" (Synapse\'s EventID(node, "example.com")); room "!test:example.com"',
      prev_events_order: 'sorted by event ID (Synapse keeps them in a set)',
      deviation: 'the create content gained "room_version": "10" (Synapse used room v2 and omitted it)',
    },
    notes: [
      'Synapse resolves with RoomVersions.V2 rules; here the room is v10 (state resolution v2.0 either way). Nothing in these events depends on the differences (no string power levels, knocks or restricted joins).',
      ...(desc.notes ?? []),
    ],
  };
}

function explicitScenario(desc) {
  const v12 = desc.room_version === '12';
  const id = desc.id_of ?? ((n) => `$${n}`);
  const createNode = desc.events.find((t) => t[2] === CREATE)[0];
  const roomId = desc.room_id ?? `!${id(createNode).slice(1)}`;
  const eventsById = new Map();
  const events = desc.events.map(([node, sender, type, sk, content, auth, prev], i) => {
    const ev = makeEvent(id, v12 && type === CREATE ? undefined : roomId, [node, sender, type, sk, content], (desc.ts_start ?? 1) + i);
    if (type === CREATE) ev.content.room_version = desc.room_version;
    if (desc.depth !== undefined) ev.depth = desc.depth;
    ev.prev_events = prev.map(id);
    ev.auth_events = auth.map(id);
    for (const r of [...ev.prev_events, ...ev.auth_events]) if (!eventsById.has(r)) throw new Error(`${desc.id}: ${r} referenced before it is defined`);
    if (v12 && ev.auth_events.includes(id(createNode))) throw new Error(`${desc.id}: v12 create in auth_events`);
    eventsById.set(ev.event_id, ev);
    return ev;
  });
  const stateOf = (nodes) => {
    const m = new Map();
    for (const n of nodes) {
      const e = eventsById.get(id(n));
      const k = keyOf(e.type, e.state_key);
      if (m.has(k)) throw new Error(`${desc.id}: two events for ${k}`);
      m.set(k, e.event_id);
    }
    return triplesOf(m, eventsById);
  };
  const names = Object.keys(desc.state_sets);
  const stateSets = names.map((n) => stateOf(desc.state_sets[n]));
  const expected = stateOf(desc.expected);
  return {
    id: desc.id,
    title: desc.title,
    description: desc.description,
    source: { repo: SYNAPSE.repo, path: v12 ? 'tests/state/test_v21.py' : 'tests/state/test_v2.py', test: desc.test, commit: SYNAPSE.commit },
    room_version: desc.room_version,
    state_res_algorithm: v12 ? 'v2.1' : 'v2.0',
    events,
    resolutions: [
      {
        at_event: null,
        state_set_names: names,
        state_sets: stateSets,
        auth_chains: stateSets.map((s) => authChainOfSet(s.map((t) => t[2]), eventsById)),
        expected,
        expected_provenance: 'source-asserted',
      },
    ],
    final: {
      meaning: 'the resolution of the explicit state sets',
      expected_state: expected,
      provenance: 'source-asserted',
    },
    notes: desc.notes ?? [
      'Explicit state sets: event contents, auth_events and prev_events as in Synapse (prev_events mostly empty, irrelevant for an explicit resolution). Synapse ran the test as room version org.matrix.hydra.11, the experimental form of v12; here the room is "12" and the create content gained "room_version": "12".',
      `Symbolic event IDs after Synapse\'s variable names (Synapse's are reference hashes); the room ID is "!" + the create event ID without "$" (${roomId}), the create event has no room_id and is in no auth_events. origin_server_ts 1, 2, ... in creation order and depth 5 as in Synapse (one module-wide counter there, so only the relative order matters).`,
    ],
  };
}

// ------------------------------------------------------------------------------------------

const scenarios = [
  ...V2_DAG_SCENARIOS.map(v2DagScenario),
  explicitScenario(V2_CONCURRENT_JOINS),
  ...V21_SCENARIOS.map((d) => explicitScenario({ ...d, room_version: '12', ts_start: 1, depth: 5 })),
];

const doc = {
  format: 'matrix-state-resolution-vectors',
  format_version: 1,
  description:
    'Synapse\'s state-resolution scenarios (tests/state/test_v2.py, tests/state/test_v21.py) re-expressed as data, following the construction rules of the shared vectors README (section 1). Generated by tools/gen-synapse-state-res.mjs; see README.md in this folder.',
  state_map_encoding: 'array of [type, state_key, event_id] triples, sorted',
  scenarios,
};

const text = JSON.stringify(doc, null, 1) + '\n';
if (process.argv.includes('--check')) {
  let old = '';
  try {
    old = readFileSync(OUT, 'utf8');
  } catch {}
  if (old !== text) {
    console.error(`${OUT} is out of date`);
    process.exit(1);
  }
  console.log(`${OUT} is up to date (${scenarios.length} scenarios)`);
} else {
  writeFileSync(OUT, text);
  console.log(`wrote ${OUT} (${scenarios.length} scenarios)`);
}
