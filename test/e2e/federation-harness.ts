/**
 * A stand-in for another homeserver in end-to-end federation tests: a Node HTTP server with its
 * own server name and Ed25519 signing key. It publishes its key (`/_matrix/key/v2/server`),
 * answers the routes a test registers, records every request it gets (checking the X-Matrix
 * signatures of servers it was told about), and makes signed requests to an instance. Start the
 * instance with `FEDERATION_HOSTS` mapping this server's name to `url`.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeBase64, encodeBase64 } from '../../core/base64';
import { encodeCanonicalJson, isJsonObject, type JsonObject, type JsonValue } from '../../core/canonical-json';
import { createNobleEd25519 } from '../../core/crypto/ed25519-noble';
import { signEvent, signJson, signingInput } from '../../core/crypto/signing';
import { formatXMatrix, parseXMatrix, receivedSigningObject, requestSigningObject } from '../../core/federation/x-matrix';
import { computeEventId } from '../../core/events/hashes';
import { ALL_ROOM_VERSIONS, getRoomVersionRules, type RoomVersionRules } from '../../core/room-versions';
import { startInstance, type Instance } from './instance';

const ed = createNobleEd25519();

export interface ReceivedRequest {
  method: string;
  /** Path and query as requested. */
  uri: string;
  body: JsonValue | undefined;
  /** The X-Matrix origin, when the header parsed. */
  origin?: string;
  /** Whether the signature verified with the origin's published key (only for known peers). */
  verified: boolean;
}

export interface HandlerResult {
  status?: number;
  body: unknown;
}

type Handler = (req: ReceivedRequest, match: RegExpMatchArray) => HandlerResult | Promise<HandlerResult>;

export interface FakeServer {
  serverName: string;
  url: string;
  keyId: string;
  seed: Uint8Array;
  requests: ReceivedRequest[];
  /** Answer `method` requests whose path (without query) matches `path`; later registrations win. */
  handle(method: string, path: RegExp, handler: Handler): void;
  /** Check X-Matrix signatures from `serverName`, whose key server is at `base`. */
  trust(serverName: string, base: string): void;
  /** A signed request to an instance; `destination` is the instance's server name. */
  send(base: string, destination: string, method: string, uri: string, body?: JsonObject, opts?: { sign?: 'ok' | 'wrong-key' | 'wrong-destination' | 'none' }): Promise<{ status: number; body: any }>;
  /** Add the content hash and this server's signature to an event (room version rules). */
  signEvent(pdu: JsonObject, rules: RoomVersionRules): Promise<JsonObject>;
  /**
   * `userId` of this server joins `roomId` on the instance at `base` (server name
   * `destination`) through make_join, offering every room version, and send_join v2 (spec
   * v1.16 "Joining Rooms"); rejects when either is refused.
   */
  joinRoom(base: string, destination: string, roomId: string, userId: string): Promise<RemoteJoin>;
  stop(): Promise<void>;
}

/** A join through send_join: the signed join event and what the resident server answered. */
export interface RemoteJoin {
  rules: RoomVersionRules;
  join: JsonObject;
  joinId: string;
  /** The send_join response (`state`, `auth_chain`, …). */
  response: { state: JsonObject[]; auth_chain: JsonObject[] } & JsonObject;
}

export async function startFakeServer(opts: { serverName?: string } = {}): Promise<FakeServer> {
  const serverName = opts.serverName ?? 'fake.test';
  const seed = new Uint8Array(randomBytes(32));
  const keyId = 'ed25519:harness';
  const publicKey = encodeBase64(await ed.publicKey(seed));
  const handlers: { method: string; path: RegExp; handler: Handler }[] = [];
  const peers = new Map<string, string>();
  const peerKeys = new Map<string, JsonObject>();
  const requests: ReceivedRequest[] = [];

  const keyResponse = () =>
    signJson({ server_name: serverName, verify_keys: { [keyId]: { key: publicKey } }, old_verify_keys: {}, valid_until_ts: Date.now() + 3600_000 }, serverName, keyId, seed, ed);

  async function verify(method: string, uri: string, header: string | undefined, body: JsonValue | undefined): Promise<{ origin?: string; verified: boolean }> {
    if (!header) return { verified: false };
    const parsed = parseXMatrix(header);
    if (!parsed.ok) return { verified: false };
    const base = peers.get(parsed.auth.origin);
    if (!base) return { origin: parsed.auth.origin, verified: false };
    let keys = peerKeys.get(parsed.auth.origin);
    if (!keys) {
      keys = (await (await fetch(`${base}/_matrix/key/v2/server`)).json()) as JsonObject;
      peerKeys.set(parsed.auth.origin, keys);
    }
    const entry = isJsonObject(keys.verify_keys) ? keys.verify_keys[parsed.auth.key] : undefined;
    if (!isJsonObject(entry) || typeof entry.key !== 'string') return { origin: parsed.auth.origin, verified: false };
    const signed = receivedSigningObject(method, uri, parsed.auth, serverName, body);
    const ok = await ed.verify(decodeBase64(entry.key), signingInput(signed), decodeBase64(parsed.auth.sig));
    return { origin: parsed.auth.origin, verified: ok };
  }

  const server = http.createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (text += d));
    req.on('end', async () => {
      const uri = req.url ?? '/';
      const method = req.method ?? 'GET';
      let body: JsonValue | undefined;
      try {
        body = text === '' ? undefined : (JSON.parse(text) as JsonValue);
      } catch {
        body = undefined;
      }
      const reply = (status: number, out: unknown) => {
        const payload = JSON.stringify(out);
        res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
        res.end(payload);
      };
      try {
        const path = uri.split('?')[0]!;
        if (method === 'GET' && path === '/_matrix/key/v2/server') return reply(200, await keyResponse());
        const received: ReceivedRequest = { method, uri, body, ...(await verify(method, uri, req.headers.authorization, body)) };
        requests.push(received);
        for (const h of [...handlers].reverse()) {
          const match = h.method === method ? path.match(h.path) : null;
          if (match) {
            const out = await h.handler(received, match);
            return reply(out.status ?? 200, out.body);
          }
        }
        reply(404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
      } catch (e) {
        reply(500, { errcode: 'M_UNKNOWN', error: (e as Error).message });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: FakeServer = {
    serverName,
    url,
    keyId,
    seed,
    requests,
    handle(method, path, handler) {
      handlers.push({ method, path, handler });
    },
    trust(name, base) {
      peers.set(name, base);
    },
    async send(base, destination, method, uri, body, o = {}) {
      const mode = o.sign ?? 'ok';
      const headers: Record<string, string> = {};
      if (mode !== 'none') {
        const dest = mode === 'wrong-destination' ? 'elsewhere.test' : destination;
        const signed = requestSigningObject({ method, uri, origin: serverName, destination: dest, ...(body !== undefined ? { content: body } : {}) });
        const signWith = mode === 'wrong-key' ? new Uint8Array(randomBytes(32)) : seed;
        const sig = encodeBase64(await ed.sign(signWith, signingInput(signed)));
        headers.Authorization = formatXMatrix({ origin: serverName, destination: dest, key: keyId, sig });
      }
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const res = await fetch(`${base}${uri}`, { method, headers, ...(body !== undefined ? { body: encodeCanonicalJson(body) } : {}) });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
      return { status: res.status, body: parsed };
    },
    signEvent(pdu, rules) {
      return signEvent(pdu, rules, serverName, keyId, seed, ed);
    },
    async joinRoom(base, destination, roomId, userId) {
      const enc = encodeURIComponent;
      const ver = ALL_ROOM_VERSIONS.map((v) => `ver=${enc(v)}`).join('&');
      const made = await fake.send(base, destination, 'GET', `/_matrix/federation/v1/make_join/${enc(roomId)}/${enc(userId)}?${ver}`);
      if (made.status !== 200) throw new Error(`make_join: ${made.status} ${JSON.stringify(made.body)}`);
      const rules = getRoomVersionRules(made.body.room_version)!;
      const join = await fake.signEvent({ ...made.body.event, origin: serverName, origin_server_ts: Date.now() }, rules);
      const joinId = computeEventId(join, rules);
      const sent = await fake.send(base, destination, 'PUT', `/_matrix/federation/v2/send_join/${enc(roomId)}/${enc(joinId)}`, join);
      if (sent.status !== 200) throw new Error(`send_join: ${sent.status} ${JSON.stringify(sent.body)}`);
      return { rules, join, joinId, response: sent.body };
    },
    stop() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
  return fake;
}

/**
 * An instance named `instanceName` whose `FEDERATION_HOSTS` points `fakeName` at a new fake
 * server, which trusts the instance's key server: the set-up of most federation e2e files.
 */
export async function startWithFakeServer(instanceName: string, fakeName = 'fake.test'): Promise<{ fake: FakeServer; hs: Instance; stop: () => Promise<void> }> {
  const fake = await startFakeServer({ serverName: fakeName });
  const hs = await startInstance({ SERVER_NAME: instanceName, FEDERATION_HOSTS: JSON.stringify({ [fakeName]: fake.url }) });
  fake.trust(instanceName, hs.base);
  return {
    fake,
    hs,
    stop: async () => {
      await hs.stop();
      await fake.stop();
    },
  };
}

/** Poll `check` until it stops throwing (deliveries across servers are asynchronous). */
export async function eventually<T>(check: () => Promise<T>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
