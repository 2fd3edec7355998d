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
import type { RateLimit } from '../../core/rate-limit';

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
  /**
   * `FEDERATION_HOSTS`: server name → base URL, consulted before server discovery; the only
   * destinations that may be reached over plain HTTP (local and test deployments).
   */
  readonly federationHosts: Readonly<Record<string, string>>;
  /** Token-bucket rates (spec "Rate limiting"), one per rate-limited action. */
  readonly rateLimits: Readonly<Record<RateLimitClass, RateLimit>>;
}

/**
 * The rate-limited actions: events a user sends (per user), failed logins (per account) and
 * registration requests (per client address).
 */
export type RateLimitClass = 'message' | 'login_failed' | 'registration';

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
  FEDERATION_HOSTS?: string;
  RC_MESSAGE_PER_SECOND?: string;
  RC_MESSAGE_BURST_COUNT?: string;
  RC_LOGIN_FAILED_PER_SECOND?: string;
  RC_LOGIN_FAILED_BURST_COUNT?: string;
  RC_REGISTRATION_PER_SECOND?: string;
  RC_REGISTRATION_BURST_COUNT?: string;
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

/**
 * Defaults no normal client reaches: 10 events a second with bursts of 100 per user (a relaxed
 * Synapse `rc_message`); 5 failed logins per account, then one per 10 s; 30 registration
 * requests per client address, then one per 5 s.
 */
const RATE_LIMIT_DEFAULTS: Readonly<Record<RateLimitClass, RateLimit>> = {
  message: { perSecond: 10, burst: 100 },
  login_failed: { perSecond: 0.1, burst: 5 },
  registration: { perSecond: 0.2, burst: 30 },
};

function parseRateLimits(vars: HomeserverVars, problems: string[]): Record<RateLimitClass, RateLimit> {
  const one = (cls: RateLimitClass, prefix: string, rawRate: string | undefined, rawBurst: string | undefined): RateLimit => {
    const perSecond = rawRate === undefined ? RATE_LIMIT_DEFAULTS[cls].perSecond : Number(rawRate);
    const burst = rawBurst === undefined ? RATE_LIMIT_DEFAULTS[cls].burst : Number(rawBurst);
    if (!Number.isFinite(perSecond) || perSecond <= 0) {
      problems.push(`${prefix}_PER_SECOND must be a positive number, got ${JSON.stringify(rawRate)}`);
    }
    if (!Number.isSafeInteger(burst) || burst < 1) problems.push(`${prefix}_BURST_COUNT must be an integer of at least 1, got ${JSON.stringify(rawBurst)}`);
    return { perSecond, burst };
  };
  return {
    message: one('message', 'RC_MESSAGE', vars.RC_MESSAGE_PER_SECOND, vars.RC_MESSAGE_BURST_COUNT),
    login_failed: one('login_failed', 'RC_LOGIN_FAILED', vars.RC_LOGIN_FAILED_PER_SECOND, vars.RC_LOGIN_FAILED_BURST_COUNT),
    registration: one('registration', 'RC_REGISTRATION', vars.RC_REGISTRATION_PER_SECOND, vars.RC_REGISTRATION_BURST_COUNT),
  };
}

/** `FEDERATION_HOSTS`, e.g. `{"hs2.test":"http://127.0.0.1:18448"}`: server names to http(s) base URLs. */
function parseFederationHosts(raw: string | undefined, problems: string[]): Record<string, string> {
  if (raw === undefined || raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push('FEDERATION_HOSTS must be a JSON object of server name to base URL');
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push('FEDERATION_HOSTS must be a JSON object of server name to base URL');
    return {};
  }
  const out: Record<string, string> = {};
  for (const [name, url] of Object.entries(parsed)) {
    if (!isValidServerName(name)) problems.push(`FEDERATION_HOSTS: ${JSON.stringify(name)} is not a server name`);
    else if (typeof url !== 'string') problems.push(`FEDERATION_HOSTS: the URL of ${name} must be a string`);
    else out[name] = parseUrl(`FEDERATION_HOSTS[${name}]`, url, problems);
  }
  return out;
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
  const rateLimits = parseRateLimits(vars, problems);
  const federationHosts = parseFederationHosts(vars.FEDERATION_HOSTS, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return { serverName, signingKey, publicBaseUrl, federationServer, keyValidityMs, registration, rateLimits, federationHosts };
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
