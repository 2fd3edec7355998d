/**
 * matrix-js-sdk clients for the end-to-end tests: registration through the SDK, starting a sync
 * loop and waiting for conditions on what the clients have seen.
 */
import * as sdk from 'matrix-js-sdk';
import type { Logger } from 'matrix-js-sdk/lib/logger.js';

/** The SDK logs every request and sync; the tests read its state instead. */
const silent = { debug() {}, info() {}, log() {}, warn() {}, error() {}, trace() {}, getChild: () => silent };
export const quietLogger = silent as unknown as Logger;

/**
 * Register `name` through the SDK (`POST /register` with `m.login.dummy`) and build a client
 * for the new device. `opts` adds client options (store, timeline support, fetch).
 */
export async function registerClient(base: string, name: string, opts: Partial<sdk.ICreateClientOpts> = {}): Promise<sdk.MatrixClient> {
  const anonymous = sdk.createClient({ baseUrl: base, logger: quietLogger });
  const r = await anonymous.registerRequest({ username: name, password: 'a long enough password', auth: { type: 'm.login.dummy' } });
  return sdk.createClient({
    ...opts,
    baseUrl: base,
    accessToken: r.access_token!,
    userId: r.user_id,
    deviceId: r.device_id!,
    logger: quietLogger,
  });
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
