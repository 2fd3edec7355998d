/**
 * A synthetic room for the state-resolution benchmark: a long linear history of joins, then
 * two forks that each change the same ~1,000 members and the power levels, so that resolving
 * the forks' states meets ~1,000 conflicted keys among ~30,000 state events. IDs are symbolic
 * (state resolution takes event IDs as given).
 */
import type { JsonObject } from '../core/canonical-json';
import type { RoomVersionRules } from '../core/room-versions';
import type { StateTriple } from '../wasm/ops';

export interface SyntheticRoom {
  events: JsonObject[];
  stateSets: StateTriple[][];
  stateEvents: number;
  conflictedKeys: number;
}

export function syntheticRoom(rules: RoomVersionRules, members: number, changed: number): SyntheticRoom {
  const room = '!bench:bench.test';
  const alice = '@alice:bench.test';
  const events: JsonObject[] = [];
  let ts = 0;
  let n = 0;
  const add = (type: string, stateKey: string, sender: string, content: JsonObject, auth: string[], prev: string[]): string => {
    const id = `$e${n++}`;
    const e: JsonObject = { event_id: id, type, state_key: stateKey, sender, content, origin_server_ts: ts++, prev_events: prev, auth_events: auth, depth: n };
    if (rules.create_has_room_id) e.room_id = room;
    events.push(e);
    return id;
  };
  const createContent: JsonObject = rules.create_content_creator_required ? { creator: alice, room_version: rules.room_version } : { room_version: rules.room_version };
  const create = add('m.room.create', '', alice, createContent, [], []);
  const roomId = rules.room_id_is_create_event_hash ? `!${create.slice(1)}` : room;
  for (const e of events) if (rules.create_has_room_id) e.room_id = roomId;
  const withCreate = (ids: string[]) => (rules.create_in_auth_events ? [create, ...ids] : ids);
  const fix = () => {
    const last = events.at(-1)!;
    if (last.type !== 'm.room.create' || rules.create_has_room_id) last.room_id = roomId;
  };
  const aliceJoin = add('m.room.member', alice, alice, { membership: 'join' }, withCreate([]), [create]);
  fix();
  const users: JsonObject = rules.creators_have_infinite_power ? {} : { [alice]: 100 };
  const pl = add('m.room.power_levels', '', alice, { users }, withCreate([aliceJoin]), [aliceJoin]);
  fix();
  const jr = add('m.room.join_rules', '', alice, { join_rule: 'public' }, withCreate([aliceJoin, pl]), [pl]);
  fix();
  let prev = jr;
  const memberEvent = new Map<string, string>();
  for (let i = 0; i < members; i++) {
    const user = `@user${i}:bench.test`;
    prev = add('m.room.member', user, user, { membership: 'join', displayname: `User ${i}` }, withCreate([pl, jr]), [prev]);
    fix();
    memberEvent.set(user, prev);
  }
  const fork = prev;
  const forkState = (label: string, plUsers: JsonObject): string => {
    let tip = add('m.room.power_levels', '', alice, { users: { ...users, ...plUsers } }, withCreate([aliceJoin, pl]), [fork]);
    fix();
    const newPl = tip;
    for (let i = 0; i < changed; i++) {
      const user = `@user${i}:bench.test`;
      tip = add('m.room.member', user, user, { membership: 'join', displayname: `User ${i} (${label})` }, withCreate([newPl, jr, memberEvent.get(user)!]), [tip]);
      fix();
    }
    return tip;
  };
  const tipA = forkState('A', { '@user1:bench.test': 50 });
  const tipB = forkState('B', { '@user2:bench.test': 50 });

  // The state after each fork tip, by walking the linear histories.
  const stateAfter = (tip: string): StateTriple[] => {
    const byId = new Map(events.map((e) => [e.event_id as string, e]));
    const chain: JsonObject[] = [];
    for (let id: string | undefined = tip; id; ) {
      const e: JsonObject = byId.get(id)!;
      chain.push(e);
      id = (e.prev_events as string[])[0];
    }
    const state = new Map<string, StateTriple>();
    for (const e of chain.reverse()) state.set(JSON.stringify([e.type, e.state_key]), [e.type as string, e.state_key as string, e.event_id as string]);
    return [...state.values()];
  };
  const stateSets = [stateAfter(tipA), stateAfter(tipB)];
  const a = new Map(stateSets[0]!.map((t) => [JSON.stringify([t[0], t[1]]), t[2]]));
  const conflictedKeys = stateSets[1]!.filter((t) => a.get(JSON.stringify([t[0], t[1]])) !== t[2]).length;
  return { events, stateSets, stateEvents: events.length, conflictedKeys };
}
