/**
 * matrix-js-sdk devices with Rust crypto for the end-to-end encryption tests: each device's
 * client checks every response against the spec (spec-fetch.ts) and records its HTTP exchanges;
 * a failing test prints the E2EE traffic of every device, and the helpers read what a device
 * decrypted. Spec: https://spec.matrix.org/v1.16/client-server-api/#end-to-end-encryption
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, vi } from 'vitest';
import * as sdk from 'matrix-js-sdk';
import { AllDevicesIsolationMode, type CryptoApi } from 'matrix-js-sdk/lib/crypto-api/index.js';
import { initCrypto, until } from './js-sdk-helpers';
import { specCheckedFetch, type Exchange } from './spec-fetch';

const C = '/_matrix/client/v3';

/** Crypto round trips (key query, claim, to-device, backup uploads) on a busy 2-core machine. */
export const CRYPTO_WAIT = 45_000;

/** Detached: local echoes stay out of the timeline, which then shows only the server's events. */
export const CRYPTO_START: sdk.IStartClientOpts = { initialSyncLimit: 20, pendingEventOrdering: sdk.PendingEventOrdering.Detached };

/** One device: a js-sdk client with Rust crypto, and what it exchanged with the server. */
export interface CryptoDevice {
  name: string;
  client: sdk.MatrixClient;
  crypto: CryptoApi;
  schemaErrors: string[];
  exchanges: Exchange[];
}

/** Makes a client with the given options (fetch, timeline support), e.g. `registerClient`. */
export type MakeClient = (opts: Partial<sdk.ICreateClientOpts>) => Promise<sdk.MatrixClient>;

/** The end-to-end encryption endpoints, whose traffic a failure report shows in full. */
const E2EE_PATH = /\/(keys\/|room_keys\/|sendToDevice\/)/;

const clip = (value: unknown, max = 3000): string => {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
};

/** Of a /sync body, the parts end-to-end encryption reads. */
function syncE2ee(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const { next_batch, to_device, device_lists, device_one_time_keys_count, device_unused_fallback_key_types } = body as Record<string, unknown>;
  return { next_batch, to_device, device_lists, device_one_time_keys_count, device_unused_fallback_key_types };
}

/** A /sync response with to-device messages or device-list changes in it. */
function syncCarriesE2ee(body: unknown): boolean {
  const { to_device, device_lists } = body as { to_device?: { events?: unknown[] }; device_lists?: { changed?: unknown[]; left?: unknown[] } };
  return (to_device?.events?.length ?? 0) + (device_lists?.changed?.length ?? 0) + (device_lists?.left?.length ?? 0) > 0;
}

/** A report of each device's E2EE requests and failed requests since `from[name]`, and the file with all of it. */
function trafficReport(devices: readonly CryptoDevice[], from: Map<string, number>): string {
  const lines: string[] = [];
  const all: Record<string, unknown[]> = {};
  for (const d of devices) {
    const since = d.exchanges.slice(from.get(d.name) ?? 0);
    all[d.name] = since.map((e) => ({ ...e, url: `${e.url}`, body: e.template === `${C}/sync` && e.status === 200 ? syncE2ee(e.body) : e.body }));
    for (const e of since) {
      const sync = e.template === `${C}/sync` && e.status === 200;
      const e2eeSync = sync && syncCarriesE2ee(e.body);
      if (!E2EE_PATH.test(e.url.pathname) && e.status < 400 && !e2eeSync) continue;
      lines.push(`[${d.name}] ${e.method} ${e.url.pathname}${e.url.search} → ${e.status}`);
      if (e.requestBody) lines.push(`    > ${clip(e.requestBody)}`);
      lines.push(`    < ${clip(sync ? syncE2ee(e.body) : e.body)}`);
    }
    if (d.schemaErrors.length) lines.push(`[${d.name}] schema errors:`, ...d.schemaErrors.map((s) => `    ${clip(s, 1000)}`));
  }
  const file = path.join(tmpdir(), `js-sdk-e2ee-traffic-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(all, null, 1));
  return `HTTP traffic of the failed test (all of it in ${file}):\n${lines.join('\n')}`;
}

/**
 * The devices of the calling test file. `device(name, make)` builds one (crypto on, not yet
 * syncing); a failing test prints their traffic since it started, plus `extraReport()` (e.g.
 * the servers' federation traffic); after the file, every client stops.
 */
export function useCryptoDevices(extraReport?: () => string) {
  const devices: CryptoDevice[] = [];

  // The SDK and its crypto library narrate every step on the console (and warn of every message
  // a new device cannot read yet, which the tests expect); the tests read their state instead,
  // and a failure prints the HTTP traffic on console.error, which stays. (The clients' last words
  // after stopClient come after afterAll, so the spies stay; the file runs in its own worker.)
  beforeAll(() => {
    for (const level of ['log', 'info', 'debug', 'warn'] as const) vi.spyOn(console, level).mockImplementation(() => {});
  });
  beforeEach(({ onTestFailed }) => {
    const from = new Map(devices.map((d) => [d.name, d.exchanges.length]));
    onTestFailed(() => console.error([trafficReport(devices, from), extraReport?.() ?? ''].join('\n')));
  });
  afterAll(() => {
    for (const d of devices) d.client.stopClient();
  });

  async function device(name: string, make: MakeClient): Promise<CryptoDevice> {
    const schemaErrors: string[] = [];
    const exchanges: Exchange[] = [];
    const fetchFn = specCheckedFetch({ schemaErrors, onExchange: (e) => exchanges.push(e) });
    const client = await make({ fetchFn, timelineSupport: true });
    const crypto = await initCrypto(client);
    // Spec "Device verification" is out of scope: room keys go to every device, verified or not
    // (the SDK's default, stated here because the tests depend on it).
    crypto.setDeviceIsolationMode(new AllDevicesIsolationMode(false));
    const d = { name, client, crypto, schemaErrors, exchanges };
    devices.push(d);
    return d;
  }

  return { devices, device };
}

/** Poll an asynchronous condition (the server's backup, the SDK's crypto state). */
export async function eventually(check: () => Promise<boolean>, what: string, ms = CRYPTO_WAIT): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A message a test sent, by whom. */
export interface Sent {
  from: CryptoDevice;
  id: string;
  body: string;
}

/** How `reader` shows each of `messages` in `roomId`: its type on the wire, why it failed to decrypt, its clear body. */
export function shown(reader: CryptoDevice, roomId: string, messages: readonly Sent[]) {
  const room = reader.client.getRoom(roomId);
  return messages.map((m) => {
    const e = room?.findEventById(m.id);
    if (!e) return { id: m.id, wire: 'missing' };
    if (e.isBeingDecrypted() || e.shouldAttemptDecryption()) return { id: m.id, wire: e.getWireType(), failure: 'not yet decrypted' };
    return { id: m.id, wire: e.getWireType(), failure: e.decryptionFailureReason, body: e.getClearContent()?.body };
  });
}

const decryptedAs = (messages: readonly Sent[]) => messages.map((m) => ({ id: m.id, wire: 'm.room.encrypted', failure: null, body: m.body }));

/** `reader` holds each of `messages` in `roomId`, received encrypted and decrypted to what was sent. */
export async function expectDecrypted(reader: CryptoDevice, roomId: string, messages: readonly Sent[]): Promise<void> {
  const want = decryptedAs(messages);
  // Keys can arrive after the event (a to-device message in a later sync): the SDK retries then.
  await until(() => JSON.stringify(shown(reader, roomId, messages)) === JSON.stringify(want), `${messages.length} messages decrypted at ${reader.name}`, CRYPTO_WAIT).catch(() => {});
  expect(shown(reader, roomId, messages), `${reader.name}: the messages as decrypted`).toEqual(want);
}

/** The senders of the encrypted to-device messages (room keys, Olm) that `reader`'s syncs delivered. */
export const olmSenders = (reader: CryptoDevice) =>
  reader.exchanges
    .filter((e) => e.template === `${C}/sync` && e.status === 200)
    .flatMap((e) => (e.body as { to_device?: { events?: { sender: string; type: string }[] } }).to_device?.events ?? [])
    .filter((e) => e.type === 'm.room.encrypted')
    .map((e) => e.sender);

/** The megolm sessions that encrypted `messages` in `roomId`, as `reader` received them. */
export const sessionIds = (reader: CryptoDevice, roomId: string, messages: readonly Sent[]) => [
  ...new Set(messages.map((m) => reader.client.getRoom(roomId)!.findEventById(m.id)!.getWireContent().session_id as string)),
];
