/**
 * Forks merged through a new event give the state the vectors predict (Rooms issue, part 4).
 * Each state-resolution scenario of ../shared/vectors that is a DAG (it has `leaves`) is
 * replayed into a Room object as received PDUs: symbolic IDs become real reference-hash IDs,
 * every event gets its depth and content hash, and a final event whose prev events are the
 * leaves merges the forks. The state before that event must be the scenario's final state.
 *
 * State resolution orders events by (origin_server_ts, event_id); real IDs sort differently
 * from symbolic ones, so each event's timestamp becomes its rank in the scenario's
 * (origin_server_ts, symbolic ID) order. Every comparison the algorithm makes keeps its
 * outcome, ties included.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { isJsonObject, type JsonObject } from '../../core/canonical-json';
import { computeEventId, contentHash } from '../../core/events/hashes';
import { getRoomVersionRules } from '../../core/room-versions';
import { roomApi } from '../../durable-objects/room/api';

interface Scenario {
  id: string;
  room_version: string;
  events: JsonObject[];
  leaves?: string[];
  final?: { expected_state?: [string, string, string][] };
}

const scenarios = ((env.STATE_RES_VECTORS as { scenarios?: Scenario[] } | undefined)?.scenarios ?? []).filter(
  (s) => (s.leaves?.length ?? 0) > 0 && s.final?.expected_state && getRoomVersionRules(s.room_version),
);

/** Symbolic event ID -> rank in (origin_server_ts, event_id) order. */
function timestampRanks(events: JsonObject[]): Map<string, number> {
  const sorted = [...events].sort(
    (a, b) => Number(a.origin_server_ts) - Number(b.origin_server_ts) || (String(a.event_id) < String(b.event_id) ? -1 : 1),
  );
  return new Map(sorted.map((e, i) => [String(e.event_id), 1000 + i]));
}

describe('forks merged in a Room object', () => {
  it('has scenarios to replay', () => {
    expect(scenarios.length).toBeGreaterThan(0);
  });

  it.each(scenarios.map((s) => [s.id, s] as const))('%s', async (_, scenario) => {
    const rules = getRoomVersionRules(scenario.room_version)!;
    const room = roomApi(env.ROOM, `replay:${scenario.id}`);
    const real = new Map<string, string>();
    const depth = new Map<string, number>();
    const map = (ids: unknown) => (Array.isArray(ids) ? ids.map((id) => real.get(String(id)) ?? String(id)) : []);
    const createId = () => real.get(String(scenario.events.find((e) => e.type === 'm.room.create')!.event_id))!;
    const ranks = timestampRanks(scenario.events);

    const ingest = async (symbolic: JsonObject) => {
      const { event_id: symbolicId, ...rest } = symbolic;
      const pdu: JsonObject = { ...rest, prev_events: map(rest.prev_events), auth_events: map(rest.auth_events), signatures: {} };
      pdu.origin_server_ts = ranks.get(String(symbolicId)) ?? Number(rest.origin_server_ts);
      pdu.depth = 1 + Math.max(0, ...(pdu.prev_events as string[]).map((id) => depth.get(id) ?? 0));
      if (rules.room_id_is_create_event_hash) {
        if (pdu.type === 'm.room.create') delete pdu.room_id;
        else pdu.room_id = `!${createId().slice(1)}`;
      }
      pdu.hashes = { sha256: contentHash(pdu) };
      const id = computeEventId(pdu, rules);
      real.set(String(symbolicId), id);
      depth.set(id, pdu.depth);
      const result = await room.ingestPdu(pdu);
      expect(['accepted', 'soft_failed', 'rejected'], `${String(symbolicId)}: ${JSON.stringify(result)}`).toContain(result.status);
      return id;
    };

    for (const event of scenario.events) await ingest(event);
    const create = scenario.events.find((e) => e.type === 'm.room.create')!;
    const merge = await ingest({
      event_id: '$merge',
      room_id: create.room_id ?? null,
      sender: create.sender as string,
      type: 'm.room.message',
      content: { msgtype: 'm.text', body: 'merging the forks' },
      origin_server_ts: 1_000_000,
      prev_events: scenario.leaves!,
      auth_events: [],
    });
    const before = await room.getStateBefore(merge);
    const expected = scenario.final!.expected_state!.map(([t, k, id]) => [t, k, real.get(id) ?? id]);
    const sort = (xs: unknown[][]) => [...xs].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(sort(before ?? [])).toEqual(sort(expected));
    expect(isJsonObject((await room.getEvent(merge))?.pdu)).toBe(true);
  });
});
