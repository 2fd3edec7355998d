/**
 * matrix-js-sdk clients for the end-to-end tests: registration through the SDK, starting a sync
 * loop and waiting for conditions on what the clients have seen.
 */
import * as sdk from 'matrix-js-sdk';
import type { CryptoApi } from 'matrix-js-sdk/lib/crypto-api/index.js';
import type { Logger } from 'matrix-js-sdk/lib/logger.js';

/** The SDK logs every request and sync; the tests read its state instead. */
const silent = { debug() {}, info() {}, log() {}, warn() {}, error() {}, trace() {}, getChild: () => silent };
export const quietLogger = silent as unknown as Logger;

/** Every user the helpers register has this password. */
export const PASSWORD = 'a long enough password';

/** A client for a device the server just created (by registration or login). */
function deviceClient(base: string, r: { user_id: string; access_token?: string; device_id?: string }, opts: Partial<sdk.ICreateClientOpts>): sdk.MatrixClient {
  return sdk.createClient({
    ...opts,
    baseUrl: base,
    accessToken: r.access_token!,
    userId: r.user_id,
    deviceId: r.device_id!,
    logger: quietLogger,
  });
}

/**
 * Register `name` through the SDK (`POST /register` with `m.login.dummy`) and build a client
 * for the new device. `opts` adds client options (store, timeline support, fetch; the
 * registration itself goes through `opts.fetchFn` too).
 */
export async function registerClient(base: string, name: string, opts: Partial<sdk.ICreateClientOpts> = {}): Promise<sdk.MatrixClient> {
  const anonymous = sdk.createClient({ baseUrl: base, logger: quietLogger, ...(opts.fetchFn ? { fetchFn: opts.fetchFn } : {}) });
  const r = await anonymous.registerRequest({ username: name, password: PASSWORD, auth: { type: 'm.login.dummy' } });
  return deviceClient(base, r, opts);
}

/** Log `userId` in again through the SDK (`POST /login`, `m.login.password`): a client for a new device of that user. */
export async function loginClient(base: string, userId: string, opts: Partial<sdk.ICreateClientOpts> = {}): Promise<sdk.MatrixClient> {
  const anonymous = sdk.createClient({ baseUrl: base, logger: quietLogger, ...(opts.fetchFn ? { fetchFn: opts.fetchFn } : {}) });
  const r = await anonymous.loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: userId }, password: PASSWORD });
  return deviceClient(base, r, opts);
}

/** `startClient`, resolving at the first sync it processes (or rejecting on a sync error). */
export async function startSyncing(client: sdk.MatrixClient, opts: sdk.IStartClientOpts, ms = 20_000): Promise<void> {
  const who = client.getUserId();
  let onSync: (state: sdk.SyncState) => void = () => {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  const prepared = new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${who}: no first sync in ${ms} ms`)), ms);
    onSync = (state) => {
      if (state === sdk.SyncState.Prepared || state === sdk.SyncState.Syncing) resolve();
      else if (state === sdk.SyncState.Error) reject(new Error(`${who}: sync error`));
    };
    client.on(sdk.ClientEvent.Sync, onSync);
  });
  try {
    await client.startClient(opts);
    await prepared;
  } finally {
    clearTimeout(timer);
    client.off(sdk.ClientEvent.Sync, onSync);
  }
}

/**
 * Resolve when `check` holds. It is polled: what the tests wait for (an edit aggregated, a
 * receipt, a redaction applied) changes on different SDK events, some after a microtask.
 */
export function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = setInterval(() => {
      if (check()) {
        clearInterval(tick);
        resolve();
      } else if (Date.now() - started > ms) {
        clearInterval(tick);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 20);
  });
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function within<T>(promise: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The client's whole timeline for a room: from the live timeline back through the neighbours
 * the SDK linked, paginating (/messages) wherever the chain stops short of the room's start.
 * Needs a client made with `timelineSupport`.
 */
export async function clientTimeline(client: sdk.MatrixClient, roomId: string): Promise<sdk.MatrixEvent[]> {
  let first = client.getRoom(roomId)!.getLiveTimeline();
  for (let page = 0; ; page++) {
    const before = first.getNeighbouringTimeline(sdk.EventTimeline.BACKWARDS);
    if (before) first = before;
    else if (first.getPaginationToken(sdk.EventTimeline.BACKWARDS) === null) break;
    else if (page > 50) throw new Error('the SDK did not reach the start of the room in 50 pages');
    else await client.paginateEventTimeline(first, { backwards: true, limit: 100 });
  }
  const events: sdk.MatrixEvent[] = [];
  for (let t: sdk.EventTimeline | null = first; t; t = t.getNeighbouringTimeline(sdk.EventTimeline.FORWARDS)) events.push(...t.getEvents());
  return events;
}

/**
 * Turn on end-to-end encryption in `client` with the SDK's Rust crypto (`matrix-sdk-crypto-wasm`)
 * and an in-memory store (Node has no IndexedDB); call before `startClient`. Each
 * initialisation turns the crypto library's tracing up to debug, so it is turned back down.
 */
export async function initCrypto(client: sdk.MatrixClient): Promise<CryptoApi> {
  await client.initRustCrypto({ useIndexedDB: false });
  const wasm = await import('@matrix-org/matrix-sdk-crypto-wasm');
  new wasm.Tracing(wasm.LoggerLevel.Warn).turnOn();
  return client.getCrypto()!;
}
