#!/usr/bin/env node
// `npm start`: run the homeserver network locally on workerd, all state under DATA_DIR.
//   PORT         port for every worker (default 8008)
//   SERVER_NAME  the Matrix server name (default localhost:$PORT)
//   DATA_DIR     where state persists (default ./.data)
//   HOST         address to bind (default 127.0.0.1)
//   INSPECTOR_PORT  optional DevTools inspector port (off by default, so instances never clash)
//   REGISTRATION    closed | open | token (default open here; closed in deployments)
// Other settings: docs/configuration.md ([vars] in wrangler.toml, .dev.vars, or the environment).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Miniflare } from 'miniflare';
import { homeserverBindings, loadConfigParser, networkOptions, ROOT } from './lib/network.mjs';

process.env.WRANGLER_SEND_METRICS ??= 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';

/** Settings that the environment may override, as documented in docs/configuration.md. */
const PASSTHROUGH = [
  'SERVER_NAME', 'PUBLIC_BASEURL', 'WELL_KNOWN_SERVER', 'KEY_VALIDITY_MS', 'SIGNING_KEY', 'REGISTRATION', 'REGISTRATION_TOKENS', 'FEDERATION_HOSTS',
  'RC_MESSAGE_PER_SECOND', 'RC_MESSAGE_BURST_COUNT', 'RC_LOGIN_FAILED_PER_SECOND', 'RC_LOGIN_FAILED_BURST_COUNT', 'RC_REGISTRATION_PER_SECOND', 'RC_REGISTRATION_BURST_COUNT',
];

function fail(problems) {
  console.error(`edge-matrix: not started, invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}

/** Create the signing key on first start (Synapse's signing.key format), never print it. */
async function signingKey(dataDir) {
  const file = path.join(dataDir, 'signing.key');
  if (!existsSync(file)) {
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    const version = `a_${Array.from(randomBytes(4), (b) => alphabet[b % alphabet.length]).join('')}`;
    const seed = randomBytes(32).toString('base64').replace(/=+$/, '');
    await writeFile(file, `ed25519 ${version} ${seed}\n`, { mode: 0o600, flag: 'wx' });
  }
  return (await readFile(file, 'utf8')).trim();
}

async function main() {
  const problems = [];
  const rawPort = process.env.PORT ?? '8008';
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`PORT must be 1-65535, got ${JSON.stringify(rawPort)}`);
  const rawInspector = process.env.INSPECTOR_PORT;
  const inspectorPort = rawInspector === undefined ? undefined : Number(rawInspector);
  if (inspectorPort !== undefined && (!Number.isInteger(inspectorPort) || inspectorPort < 1 || inspectorPort > 65535)) {
    problems.push(`INSPECTOR_PORT must be 1-65535, got ${JSON.stringify(rawInspector)}`);
  }
  const host = process.env.HOST ?? '127.0.0.1';
  const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(ROOT, '.data'));
  await mkdir(dataDir, { recursive: true });

  const overrides = {
    SERVER_NAME: `localhost:${rawPort}`,
    PUBLIC_BASEURL: `http://${host.includes(':') ? `[${host}]` : host}:${rawPort}`,
  };
  for (const key of PASSTHROUGH) if (process.env[key] !== undefined) overrides[key] = process.env[key];
  const vars = homeserverBindings(overrides);
  vars.SIGNING_KEY ??= await signingKey(dataDir);
  // A local homeserver is for trying things out: anyone may register unless .dev.vars, [vars]
  // or the environment say otherwise (a deployment's default is closed).
  vars.REGISTRATION ??= 'open';

  // Check with the workers' own parser, collecting every problem before anything starts.
  const { parseHomeserverConfig, ConfigError } = await loadConfigParser();
  try {
    parseHomeserverConfig(vars);
  } catch (e) {
    if (e instanceof ConfigError) problems.push(...e.problems);
    else throw e;
  }
  if (problems.length > 0) fail(problems);

  const mf = new Miniflare(
    await networkOptions({ homeserverVars: vars, persistRoot: dataDir, port, host, inspectorPort }),
  );
  const url = await mf.ready;
  const base = url.origin;
  console.log(`edge-matrix listening on ${base} (server name ${vars.SERVER_NAME}, data in ${dataDir})`);
  console.log(`  homeserver  ${base}/_matrix/{client,federation,key,media}  ${base}/.well-known/matrix/`);
  console.log(`  identity    ${base}/_matrix/identity/`);
  console.log(`  push        ${base}/_matrix/push/`);
  console.log('  appservice  (dispatcher; no public routes)');

  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    console.log(`edge-matrix: ${signal}, stopping`);
    await mf.dispose();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e) => {
  console.error('edge-matrix: failed to start:', e);
  process.exit(1);
});
