/** /sync builders for Client-Server tests: one sync, and syncing until a condition holds. */
import type { Session } from './helpers';
import { ok, type ClientEvent } from './room-helpers';

export interface AccountDataEvent {
  type: string;
  content: Record<string, unknown>;
}

export interface SyncJoinedRoom {
  timeline: { events: ClientEvent[]; limited: boolean; prev_batch?: string };
  state: { events: ClientEvent[] };
  account_data: { events: AccountDataEvent[] };
  ephemeral: { events: AccountDataEvent[] };
}

export interface SyncBody {
  next_batch: string;
  account_data: { events: AccountDataEvent[] };
  rooms: { join: Record<string, SyncJoinedRoom>; invite: Record<string, unknown>; leave: Record<string, unknown> };
}

export function sync(s: Session, params: Record<string, string | number> = {}): Promise<SyncBody> {
  const q = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
  return ok<SyncBody>('GET', `/v3/sync?${q}`, s.access_token);
}

/** Sync (long-polling 2 s at a time) until `done` holds; returns every body on the way. */
export async function syncUntil(s: Session, since: string | undefined, done: (b: SyncBody) => boolean, params: Record<string, string | number> = {}): Promise<SyncBody[]> {
  const bodies: SyncBody[] = [];
  let token = since;
  for (let i = 0; i < 10; i++) {
    const body = await sync(s, { ...params, ...(token ? { since: token } : {}), timeout: 2000 });
    bodies.push(body);
    token = body.next_batch;
    if (done(body)) return bodies;
  }
  throw new Error(`sync never reached the expected state: ${JSON.stringify(bodies.at(-1))}`);
}

/** Sync until nothing more arrives within 300 ms; returns the settled token. */
export async function settle(s: Session, since?: string): Promise<string> {
  let token = since ?? (await sync(s)).next_batch;
  for (;;) {
    const quiet = await sync(s, { since: token, timeout: 300 });
    if (quiet.next_batch === token) return token;
    token = quiet.next_batch;
  }
}
