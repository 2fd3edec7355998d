/**
 * The one place that reads worker configuration. Configuration follows wrangler's conventions:
 * non-secret settings are `[vars]` in the worker's wrangler.toml (or `--var`), secrets come from
 * `wrangler secret put` in deployments and from `.dev.vars` / the start script locally.
 * `parseHomeserverConfig` checks everything at once and reports every problem together, so a
 * broken deployment is fixed in one round (Dendrite's `Verify` collects errors the same way).
 * Every variable is documented in docs/configuration.md.
 */
import { decodeBase64 } from '../../core/base64';
import { isValidServerName } from '../../core/ids';

export interface HomeserverConfig {
  /** The server name users and rooms are scoped to (spec: "Server Name"). */
  readonly serverName: string;
  /** The Ed25519 signing key: key ID (`ed25519:<version>`) and 32-byte seed. */
  readonly signingKey: { readonly keyId: string; readonly seed: Uint8Array };
  /** Base URL clients use, published in `/.well-known/matrix/client`. */
  readonly publicBaseUrl: string;
  /** Federation endpoint (`host[:port]`) published in `/.well-known/matrix/server`. */
  readonly federationServer: string;
  /** How long a published key response is valid for (`valid_until_ts` = now + this). */
  readonly keyValidityMs: number;
  /** Who may register: nobody, anybody, or holders of one of `tokens` (`m.login.registration_token`). */
  readonly registration: RegistrationConfig;
}

export type RegistrationConfig =
  | { readonly mode: 'closed' | 'open' }
  | { readonly mode: 'token'; readonly tokens: readonly string[] };

/** The raw bindings the homeserver reads; all strings, as wrangler passes vars and secrets. */
export interface HomeserverVars {
  SERVER_NAME?: string;
  SIGNING_KEY?: string;
  PUBLIC_BASEURL?: string;
  WELL_KNOWN_SERVER?: string;
  KEY_VALIDITY_MS?: string;
  REGISTRATION?: string;
  REGISTRATION_TOKENS?: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Signing key in Synapse's `signing.key` format: `ed25519 <version> <unpadded base64 seed>`. */
const SIGNING_KEY_FORMAT = /^ed25519 ([A-Za-z0-9_]+) ([A-Za-z0-9+/]+={0,2})$/;

function parseSigningKey(raw: string | undefined, problems: string[]): HomeserverConfig['signingKey'] {
  const fallback = { keyId: 'ed25519:invalid', seed: new Uint8Array(32) };
  if (!raw) {
    problems.push('SIGNING_KEY is not set (secret; format "ed25519 <version> <base64 seed>")');
    return fallback;
  }
  const match = SIGNING_KEY_FORMAT.exec(raw.trim());
  if (!match) {
    problems.push('SIGNING_KEY must look like "ed25519 <version> <base64 seed>" (version: [A-Za-z0-9_])');
    return fallback;
  }
  let seed: Uint8Array;
  try {
    seed = decodeBase64(match[2]!);
  } catch {
    problems.push('SIGNING_KEY seed is not valid base64');
    return fallback;
  }
  if (seed.length !== 32) {
    problems.push(`SIGNING_KEY seed must be 32 bytes, got ${seed.length}`);
    return fallback;
  }
  return { keyId: `ed25519:${match[1]}`, seed };
}

/** Spec ("Token-authenticated registration"): tokens are 1-64 chars of `[A-Za-z0-9._~-]`. */
const REGISTRATION_TOKEN = /^[A-Za-z0-9._~-]{1,64}$/;

function parseRegistration(vars: HomeserverVars, problems: string[]): RegistrationConfig {
  const mode = vars.REGISTRATION ?? 'closed';
  const tokens = (vars.REGISTRATION_TOKENS ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
  // Tokens are secrets: name a bad one by its position, never by its text.
  tokens.forEach((t, i) => {
    if (!REGISTRATION_TOKEN.test(t)) problems.push(`REGISTRATION_TOKENS entry ${i + 1} must be 1-64 characters of [A-Za-z0-9._~-]`);
  });
  switch (mode) {
    case 'closed':
    case 'open':
      return { mode };
    case 'token':
      if (tokens.length === 0) problems.push('REGISTRATION=token needs REGISTRATION_TOKENS (comma-separated)');
      return { mode, tokens };
    default:
      problems.push(`REGISTRATION must be "closed", "open" or "token", got ${JSON.stringify(mode)}`);
      return { mode: 'closed' };
  }
}

function parseUrl(name: string, raw: string, problems: string[]): string {
  try {
    const url = new URL(raw);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
    return raw.replace(/\/+$/, '');
  } catch {
    problems.push(`${name} must be an http(s) URL, got ${JSON.stringify(raw)}`);
    return raw;
  }
}

/**
 * Parse and check the homeserver's configuration.
 * @throws ConfigError listing every problem found.
 */
export function parseHomeserverConfig(vars: HomeserverVars): HomeserverConfig {
  const problems: string[] = [];

  const serverName = vars.SERVER_NAME ?? '';
  if (!serverName) problems.push('SERVER_NAME is not set');
  else if (!isValidServerName(serverName)) {
    problems.push(`SERVER_NAME ${JSON.stringify(serverName)} is not a valid server name (host[:port])`);
  }

  const signingKey = parseSigningKey(vars.SIGNING_KEY, problems);

  const publicBaseUrl = parseUrl('PUBLIC_BASEURL', vars.PUBLIC_BASEURL ?? `https://${serverName}`, problems);

  const federationServer = vars.WELL_KNOWN_SERVER ?? serverName;
  if (vars.WELL_KNOWN_SERVER !== undefined && !isValidServerName(federationServer)) {
    problems.push(`WELL_KNOWN_SERVER ${JSON.stringify(federationServer)} is not host[:port]`);
  }

  const keyValidityMs = Number(vars.KEY_VALIDITY_MS ?? 86_400_000);
  if (!Number.isSafeInteger(keyValidityMs) || keyValidityMs < 60_000) {
    problems.push(`KEY_VALIDITY_MS must be an integer of at least 60000, got ${JSON.stringify(vars.KEY_VALIDITY_MS)}`);
  }

  const registration = parseRegistration(vars, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return { serverName, signingKey, publicBaseUrl, federationServer, keyValidityMs, registration };
}

const cache = new WeakMap<object, HomeserverConfig>();

/**
 * Per-isolate cache keyed by the env object, so the parse runs once and no request reads
 * `env.*` directly. (Module scope holds only data derived from the deployment's own env.)
 */
export function homeserverConfig(env: HomeserverVars): HomeserverConfig {
  let config = cache.get(env);
  if (!config) {
    config = parseHomeserverConfig(env);
    cache.set(env, config);
  }
  return config;
}
