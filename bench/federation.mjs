// Federation benchmarks (Federation issue), against the whole network as `npm start` runs it,
// with the remote servers played by Node stand-ins in this process (test/e2e/federation-harness.ts,
// its events signed with Node's Ed25519):
// 1. inbound `/send`: a remote user who joined a local public room sends 1,000 messages, a chain
//    (each PDU's prev event the one before), in 20 transactions of 50; timed from the first
//    request to the last response, every PDU verified (signatures, hash, auth) and stored;
//    then all 1,000 must be found in the room's `/messages`.
// 2. joining a big remote room: the stand-in is the resident server of a room of 20,000 members;
//    a local user joins through it (`POST /join/{roomId}?server_name=`): make_join, send_join,
//    every signature of the response checked, the room started from it. The client call is timed;
//    generating the room is not.
// Set BENCH_INSPECTOR_PORT to open workerd's inspector (for a CPU profile over the DevTools protocol).
import { createPrivateKey, sign as nodeSign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Log, LogLevel, Miniflare } from 'miniflare';
import { importTs } from '../scripts/lib/import-ts.mjs';
import { homeserverBindings, networkOptions, ROOT } from '../scripts/lib/network.mjs';

const SPEC_TEST_KEY = 'ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0';
const HS = 'bench.test';
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const enc = encodeURIComponent;

const PDUS = 1000;
const PER_TXN = 50;
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 20_000);

/** RFC 8410 PKCS#8 header of an Ed25519 seed. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The Ed25519 interface of core/crypto/ed25519.ts over Node's crypto (signing only is needed). */
function nodeEd25519() {
  const keys = new Map();
  return {
    async sign(seed, msg) {
      const id = Buffer.from(seed).toString('hex');
      let key = keys.get(id);
      if (!key) keys.set(id, (key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })));
      return new Uint8Array(nodeSign(null, msg, key));
    },
    async verify() {
      throw new Error('not used');
    },
    async publicKey() {
      throw new Error('not used');
    },
  };
}

async function loadTs() {
  const [harness, signing, hashes, versions] = await Promise.all(
    ['test/e2e/federation-harness.ts', 'core/crypto/signing.ts', 'core/events/hashes.ts', 'core/room-versions.ts'].map((f) => importTs(path.join(ROOT, f))),
  );
  return { ...harness, ...signing, ...hashes, ...versions };
}

/** A keep-alive JSON client for the instance's client API. */
function clientOf(url) {
  let agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const call = (method, p, token, body) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        {
          host: url.hostname, port: url.port, method, path: p, agent,
          headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}) },
        },
        (res) => {
          let text = '';
          // A connection reset while the body streams in fails this call (reported), not the process.
          res.on('error', reject);
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${method} ${p}: ${res.statusCode} ${text.slice(0, 500)}`))));
        },
      );
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  // `fresh()`: new connections after a long pause, which the server may have closed meanwhile.
  const fresh = () => {
    agent.destroy();
    agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  };
  return { call, fresh, close: () => agent.destroy() };
}

/**
 * A CPU profile of the homeserver's isolate (its Durable Objects included) over the DevTools
 * protocol on workerd's inspector; `stop(name)` writes `$BENCH_PROFILE-name.cpuprofile`.
 */
async function startProfile(port) {
  const { default: WebSocket } = await import('ws');
  const ws = new WebSocket(`ws://127.0.0.1:${port}/core:user:homeserver`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let id = 0;
  const pending = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data));
    if (msg.id !== undefined) pending.get(msg.id)?.(msg);
  });
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 200 });
  const { writeFile } = await import('node:fs/promises');
  return {
    start: () => send('Profiler.start'),
    async stop(name) {
      const { result } = await send('Profiler.stop');
      await writeFile(`${process.env.BENCH_PROFILE}-${name}.cpuprofile`, JSON.stringify(result.profile));
    },
    close: () => ws.close(),
  };
}

/** All event IDs of a room's timeline, paging `/messages` backwards. */
async function timelineIds(call, roomId, token) {
  const seen = new Set();
  let from;
  for (let page = 0; page < 100; page++) {
    const q = new URLSearchParams({ dir: 'b', limit: '100', ...(from ? { from } : {}) });
    const out = await call('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/messages?${q}`, token);
    for (const e of out.chunk) seen.add(e.event_id);
    if (!out.end || out.chunk.length === 0) break;
    from = out.end;
  }
  return seen;
}

/**
 * The federation benchmarks; `emit` prints one JSON line per measurement (the machine is added
 * by the caller). The homeserver's data lives in a fresh directory under `parent`.
 */
export async function federationBenchmarks(emit, { parent = tmpdir() } = {}) {
  const ts = await loadTs();
  const ed = nodeEd25519();
  const remote = await ts.startFakeServer({ serverName: 'remote.bench' });
  const resident = await ts.startFakeServer({ serverName: 'resident.bench' });
  const dataDir = await mkdtemp(path.join(parent, 'edge-matrix-bench-fed-'));
  const vars = homeserverBindings({
    SERVER_NAME: HS, PUBLIC_BASEURL: 'http://127.0.0.1', SIGNING_KEY: SPEC_TEST_KEY, REGISTRATION: 'open',
    RC_MESSAGE_PER_SECOND: '1000000', RC_MESSAGE_BURST_COUNT: '1000000',
    FEDERATION_HOSTS: JSON.stringify({ [remote.serverName]: remote.url, [resident.serverName]: resident.url }),
  });
  const inspectorPort = process.env.BENCH_INSPECTOR_PORT ? Number(process.env.BENCH_INSPECTOR_PORT) : undefined;
  const options = await networkOptions({ homeserverVars: vars, persistRoot: dataDir, port: 0, host: '127.0.0.1', inspectorPort });
  // The workers' own errors (e.g. a request over a limit) are shown.
  const mf = new Miniflare({ ...options, log: new Log(process.env.BENCH_LOG ? LogLevel[process.env.BENCH_LOG] : LogLevel.WARN) });
  let client;
  try {
    const url = await mf.ready;
    const base = url.origin;
    client = clientOf(url);
    const { call } = client;
    // What the instance sends out (its events, to servers in the room) is acknowledged.
    for (const s of [remote, resident]) s.handle('PUT', /^\/_matrix\/federation\/v1\/send\//, () => ({ body: { pdus: {} } }));
    const register = (name) => call('POST', '/_matrix/client/v3/register', undefined, { username: name, password: 'bench password 123', auth: { type: 'm.login.dummy' } });
    const alice = await register('alice');

    const profile = inspectorPort && process.env.BENCH_PROFILE ? await startProfile(inspectorPort) : undefined;
    if (process.env.BENCH_ONLY !== 'join') await inboundSend(emit, ts, ed, remote, base, call, alice, profile);
    if (process.env.BENCH_ONLY !== 'send') await bigJoin(emit, ts, ed, resident, client, alice, profile);
    profile?.close();
  } finally {
    client?.close();
    await mf.dispose();
    await remote.stop();
    await resident.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** 1. A remote user joins a local room, then sends 1,000 chained PDUs in 20 transactions. */
async function inboundSend(emit, ts, ed, remote, base, call, alice, profile) {
  const { room_id: roomId } = await call('POST', '/_matrix/client/v3/createRoom', alice.access_token, { preset: 'public_chat', name: 'Federated bench' });
  const bob = `@bob:${remote.serverName}`;
  const ver = ts.KNOWN_ROOM_VERSIONS.map((v) => `ver=${enc(v)}`).join('&');
  const made = await remote.send(base, HS, 'GET', `/_matrix/federation/v1/make_join/${enc(roomId)}/${enc(bob)}?${ver}`);
  if (made.status !== 200) throw new Error(`make_join: ${made.status} ${JSON.stringify(made.body)}`);
  const rules = ts.getRoomVersionRules(made.body.room_version);
  const signAs = (pdu) => ts.signEvent(pdu, rules, remote.serverName, remote.keyId, remote.seed, ed);
  const join = await signAs({ ...made.body.event, origin: remote.serverName, origin_server_ts: Date.now() });
  const joinId = ts.computeEventId(join, rules);
  const sent = await remote.send(base, HS, 'PUT', `/_matrix/federation/v2/send_join/${enc(roomId)}/${enc(joinId)}`, join);
  if (sent.status !== 200) throw new Error(`send_join: ${sent.status} ${JSON.stringify(sent.body)}`);
  const stateId = (type) => ts.computeEventId(sent.body.state.find((s) => s.type === type && s.state_key === ''), rules);
  const auth = [stateId('m.room.power_levels'), joinId, ...(rules.create_in_auth_events ? [stateId('m.room.create')] : [])];

  // The chain of messages, signed before the clock starts.
  let prev = { id: joinId, depth: join.depth };
  const txns = [];
  const ids = [];
  for (let t = 0; t < PDUS / PER_TXN; t++) {
    const pdus = [];
    for (let i = 0; i < PER_TXN; i++) {
      const n = t * PER_TXN + i;
      const pdu = await signAs({
        type: 'm.room.message', room_id: roomId, sender: bob, content: { msgtype: 'm.text', body: `message ${n} from the remote server` },
        origin_server_ts: Date.now(), depth: prev.depth + 1, prev_events: [prev.id], auth_events: auth,
      });
      prev = { id: ts.computeEventId(pdu, rules), depth: prev.depth + 1 };
      ids.push(prev.id);
      pdus.push(pdu);
    }
    txns.push(pdus);
  }
  await profile?.start();
  const t0 = process.hrtime.bigint();
  let errors = 0;
  for (const [t, pdus] of txns.entries()) {
    const r = await remote.send(base, HS, 'PUT', `/_matrix/federation/v1/send/bench${t}`, { origin: remote.serverName, origin_server_ts: Date.now(), pdus, edus: [] });
    if (r.status !== 200) throw new Error(`send: ${r.status} ${JSON.stringify(r.body)}`);
    errors += Object.values(r.body.pdus).filter((p) => p.error !== undefined).length;
  }
  const seconds = ms(t0) / 1000;
  await profile?.stop('send');
  const seen = await timelineIds(call, roomId, alice.access_token);
  emit({
    bench: 'federation_inbound_send',
    room_version: rules.room_version,
    pdus: PDUS,
    transactions: PDUS / PER_TXN,
    unit: 'events/s',
    value: Math.round(PDUS / seconds),
    seconds: Number(seconds.toFixed(2)),
    pdu_errors: errors,
    missing_from_messages: ids.filter((id) => !seen.has(id)).length,
    target_events_per_s: 3000,
  });
}

/** 2. The resident's room of MEMBERS members, and a local user joining it. */
async function bigJoin(emit, ts, ed, resident, { call, fresh }, alice, profile) {
  const version = '11';
  const rules = ts.getRoomVersionRules(version);
  const roomId = `!big:${resident.serverName}`;
  const creator = `@creator:${resident.serverName}`;
  const signAs = (pdu) => ts.signEvent(pdu, rules, resident.serverName, resident.keyId, resident.seed, ed);
  const g0 = process.hrtime.bigint();
  let ts0 = Date.now() - 3_600_000;
  let last;
  let depth = 0;
  const add = async (event) => {
    const pdu = await signAs({ room_id: roomId, origin_server_ts: ts0++, depth: ++depth, prev_events: last ? [last] : [], ...event });
    last = ts.computeEventId(pdu, rules);
    return { pdu, id: last };
  };
  const create = await add({ type: 'm.room.create', state_key: '', sender: creator, content: { room_version: version }, auth_events: [] });
  const creatorJoin = await add({ type: 'm.room.member', state_key: creator, sender: creator, content: { membership: 'join' }, auth_events: [create.id] });
  const pl = await add({
    type: 'm.room.power_levels', state_key: '', sender: creator, auth_events: [create.id, creatorJoin.id],
    content: { users: { [creator]: 100 }, users_default: 0, events_default: 0, state_default: 50, ban: 50, kick: 50, redact: 50, invite: 0, events: {} },
  });
  const joinRules = await add({ type: 'm.room.join_rules', state_key: '', sender: creator, content: { join_rule: 'public' }, auth_events: [create.id, creatorJoin.id, pl.id] });
  const memberAuth = [create.id, pl.id, joinRules.id];
  const members = [];
  for (let i = 1; i < MEMBERS; i++) {
    const user = `@member${i}:${resident.serverName}`;
    members.push(await add({ type: 'm.room.member', state_key: user, sender: user, content: { membership: 'join', displayname: `Member ${i}` }, auth_events: memberAuth }));
  }
  const authChain = [create, creatorJoin, pl, joinRules].map((e) => e.pdu);
  const state = [create, creatorJoin, pl, joinRules, ...members].map((e) => e.pdu);
  const generated = ms(g0) / 1000;
  const responseBytes = Buffer.byteLength(JSON.stringify({ state, auth_chain: authChain }));

  resident.handle('GET', /^\/_matrix\/federation\/v1\/make_join\//, (req) => {
    const userId = decodeURIComponent(req.uri.split('?')[0].split('/').pop());
    return {
      body: {
        room_version: version,
        event: {
          type: 'm.room.member', room_id: roomId, sender: userId, state_key: userId, content: { membership: 'join' },
          origin: resident.serverName, origin_server_ts: Date.now(), depth: depth + 1, prev_events: [last], auth_events: memberAuth,
        },
      },
    };
  });
  resident.handle('PUT', /^\/_matrix\/federation\/v2\/send_join\//, (req) => ({ body: { origin: resident.serverName, state, auth_chain: authChain, event: req.body } }));

  fresh();
  await profile?.start();
  const t0 = process.hrtime.bigint();
  try {
    await call('POST', `/_matrix/client/v3/join/${enc(roomId)}?server_name=${resident.serverName}`, alice.access_token, {});
  } catch (e) {
    // Reported, not thrown: the benchmarks after this one still run.
    await profile?.stop('join');
    emit({ bench: 'federation_join_big_room', room_version: version, members: MEMBERS, response_mib: Number((responseBytes / 2 ** 20).toFixed(1)), failed: String(e.message ?? e).slice(0, 200), after_s: Number((ms(t0) / 1000).toFixed(2)), target_s: 10 });
    return;
  }
  const seconds = ms(t0) / 1000;
  await profile?.stop('join');
  const joined = await call('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`, alice.access_token);
  emit({
    bench: 'federation_join_big_room',
    room_version: version,
    members: MEMBERS,
    state_events: state.length,
    response_mib: Number((responseBytes / 2 ** 20).toFixed(1)),
    unit: 's',
    value: Number(seconds.toFixed(2)),
    joined_members_after: Object.keys(joined.joined).length,
    generation_s_not_measured: Number(generated.toFixed(1)),
    target_s: 10,
  });
}

// `node bench/federation.mjs`: only these benchmarks.
if (import.meta.url === `file://${process.argv[1]}`) {
  const os = await import('node:os');
  process.env.WRANGLER_SEND_METRICS ??= 'false';
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
  const machine = `${os.cpus()[0]?.model ?? 'unknown cpu'} ×${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`;
  await federationBenchmarks((o) => console.log(JSON.stringify({ ...o, machine })));
}
