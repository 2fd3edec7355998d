/**
 * State maps and state groups. A state map is `(type, state_key) -> event_id`; a state group
 * persists one as a delta on another group or as a snapshot (see schema.ts). Delta chains are
 * capped at MAX_CHAIN so loading a group reads at most MAX_CHAIN + 1 groups, and a small LRU
 * keeps recently used maps (the current state above all) in memory.
 */
import type { StateTriple } from '../../wasm/ops';
import type { RoomStore, StateEntry } from './store';

/** Key of a state map entry; JSON keeps any pair of strings apart. */
export type StateKeyString = string;
export const stateKey = (type: string, key: string): StateKeyString => JSON.stringify([type, key]);
export const parseStateKey = (k: StateKeyString): [string, string] => JSON.parse(k) as [string, string];

export type StateMap = ReadonlyMap<StateKeyString, string>;

const MAX_CHAIN = 64;
const CACHE_SIZE = 32;

export function toTriples(state: StateMap): StateTriple[] {
  const out: StateTriple[] = [];
  for (const [k, id] of state) {
    const [type, key] = parseStateKey(k);
    out.push([type, key, id]);
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
}

export function fromTriples(triples: readonly StateTriple[]): Map<StateKeyString, string> {
  return new Map(triples.map(([type, key, id]) => [stateKey(type, key), id]));
}

/** Changes turning `from` into `to`, as state group entries (NULL event removes a key). */
export function stateDelta(from: StateMap, to: StateMap): StateEntry[] {
  const out: StateEntry[] = [];
  for (const [k, id] of to) if (from.get(k) !== id) out.push([...parseStateKey(k), id]);
  for (const k of from.keys()) if (!to.has(k)) out.push([...parseStateKey(k), null]);
  return out;
}

export class StateGroups {
  private readonly cache = new Map<number, StateMap>();

  constructor(private readonly store: RoomStore) {}

  /** The state map of group `id`. */
  load(id: number): StateMap {
    const hit = this.cache.get(id);
    if (hit) {
      this.touch(id, hit);
      return hit;
    }
    const chain = this.store.stateGroupChain(id); // newest first
    let start = chain.length;
    let base: StateMap | undefined;
    for (let i = 0; i < chain.length; i++) {
      const cached = this.cache.get(chain[i]!);
      if (cached) {
        start = i;
        base = cached;
        break;
      }
    }
    const state = new Map(base ?? []);
    for (let i = start - 1; i >= 0; i--) {
      for (const [type, key, eventId] of this.store.stateGroupEntries(chain[i]!)) {
        if (eventId === null) state.delete(stateKey(type, key));
        else state.set(stateKey(type, key), eventId);
      }
    }
    this.touch(id, state);
    return state;
  }

  /**
   * Persist `state` as a new group: a delta on `base` when `base` is given and its chain is
   * short enough, a snapshot otherwise. Call inside the write transaction.
   */
  save(state: StateMap, base: number | null): number {
    const baseInfo = base === null ? undefined : this.store.stateGroup(base);
    let id: number;
    if (base !== null && baseInfo && baseInfo.chain_length < MAX_CHAIN) {
      id = this.store.insertStateGroup(base, baseInfo.chain_length + 1, stateDelta(this.load(base), state));
    } else {
      id = this.store.insertStateGroup(null, 0, toTriples(state));
    }
    this.touch(id, state);
    return id;
  }

  /** Forget cached maps (after a failed transaction rolled back the groups they describe). */
  clear(): void {
    this.cache.clear();
  }

  private touch(id: number, state: StateMap): void {
    this.cache.delete(id);
    this.cache.set(id, state);
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
  }
}
