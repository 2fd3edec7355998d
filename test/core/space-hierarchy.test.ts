/** Spec "Spaces": which m.space.child events count, their order, and restricted rooms' allowed rooms. */
import { describe, expect, it } from 'vitest';
import { allowedRoomIds, spaceChildOf, spaceChildren, strippedChildState, type SpaceChildEvent } from '../../core/space-hierarchy';

const child = (state_key: string, content: Record<string, unknown>, origin_server_ts = 1): SpaceChildEvent => ({ state_key, sender: '@a:x.test', origin_server_ts, content: content as never });

describe('space children', () => {
  it('keeps children with a non-empty via of strings and a room ID state key', () => {
    const events = [
      child('!ok:x.test', { via: ['x.test'] }),
      child('!empty:x.test', { via: [] }),
      child('!none:x.test', {}),
      child('!bad:x.test', { via: [1] }),
      child('not-a-room', { via: ['x.test'] }),
    ];
    expect(spaceChildren(events, false).map((e) => e.state_key)).toEqual(['!ok:x.test']);
  });

  it('orders by valid order, then origin_server_ts, then room ID; invalid orders count as none', () => {
    const events = [
      child('!d:x.test', { via: ['x'] }, 5),
      child('!c:x.test', { via: ['x'], order: 'x'.repeat(51) }, 1),
      child('!b:x.test', { via: ['x'], order: 'b' }, 9),
      child('!a:x.test', { via: ['x'], order: 'a' }, 9),
      child('!e:x.test', { via: ['x'], order: '\u00e9' }, 1),
      child('!f:x.test', { via: ['x'] }, 5),
    ];
    expect(spaceChildren(events, false).map((e) => e.state_key)).toEqual(['!a:x.test', '!b:x.test', '!c:x.test', '!e:x.test', '!d:x.test', '!f:x.test']);
  });

  it('filters suggested children, reads PDUs and strips them with origin_server_ts', () => {
    const events = [child('!s:x.test', { via: ['x'], suggested: true }), child('!n:x.test', { via: ['x'], suggested: 'yes' })];
    expect(spaceChildren(events, true).map((e) => e.state_key)).toEqual(['!s:x.test']);
    const pdu = { type: 'm.space.child', state_key: '!s:x.test', sender: '@a:x.test', origin_server_ts: 7, content: { via: ['x'] }, depth: 3 };
    const e = spaceChildOf(pdu)!;
    expect(strippedChildState(e)).toEqual({ type: 'm.space.child', state_key: '!s:x.test', sender: '@a:x.test', origin_server_ts: 7, content: { via: ['x'] } });
    expect(spaceChildOf({ ...pdu, type: 'm.room.member' })).toBeUndefined();
  });

  it('lists the allowed rooms of restricted join rules only', () => {
    const allow = [{ type: 'm.room_membership', room_id: '!p:x.test' }, { type: 'm.other', room_id: '!q:x.test' }, { type: 'm.room_membership', room_id: '!p:x.test' }];
    expect(allowedRoomIds({ join_rule: 'restricted', allow })).toEqual(['!p:x.test']);
    expect(allowedRoomIds({ join_rule: 'knock_restricted', allow })).toEqual(['!p:x.test']);
    expect(allowedRoomIds({ join_rule: 'public', allow })).toEqual([]);
    expect(allowedRoomIds(undefined)).toEqual([]);
  });
});
