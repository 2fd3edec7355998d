/**
 * Outbound Server-Server requests: find the destination (core/federation/discovery.ts, with
 * `FEDERATION_HOSTS` first), sign the request with the `X-Matrix` scheme including
 * `destination` (spec v1.16, Server-Server API "Request Authentication"), send it, and read
 * the JSON answer. Well-known answers are cached in the isolate (spec: respect Cache-Control,
 * 24 h by default, errors for an hour; never longer than 48 h).
 */
import type { JsonObject, JsonValue } from '../../core/canonical-json';
import { encodeCanonicalJson } from '../../core/canonical-json';
import { webCryptoEd25519 } from '../../core/crypto/ed25519-webcrypto';
import { signBytes, signingInput } from '../../core/crypto/signing';
import { configuredEndpoint, parseWellKnown, resolveWithWellKnown, resolveWithoutWellKnown, type ServerEndpoint, type WellKnownResult } from '../../core/federation/discovery';
import { formatXMatrix, requestSigningObject } from '../../core/federation/x-matrix';

export interface FederationSender {
  serverName: string;
  signingKey: { keyId: string; seed: Uint8Array };
  /** `FEDERATION_HOSTS`: server name → base URL; the only destinations allowed plain HTTP. */
  hosts: Readonly<Record<string, string>>;
  /** Injected for tests; the global `fetch` otherwise. */
  fetch?: typeof fetch;
}

export class FederationError extends Error {
  override readonly name = 'FederationError';
  constructor(
    message: string,
    /** The remote's HTTP status, when it answered. */
    readonly status?: number,
    /** The remote's Matrix error body, when it sent one. */
    readonly body?: JsonObject,
  ) {
    super(message);
  }
}

const WELL_KNOWN_TTL_MS = 24 * 3600_000;
const WELL_KNOWN_ERROR_TTL_MS = 3600_000;
const WELL_KNOWN_MAX_TTL_MS = 48 * 3600_000;
/** Spec: "the well-known ... should time out quickly"; and a body of at most 50 kB is sane. */
const WELL_KNOWN_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 60_000;

const wellKnownCache = new Map<string, { result: WellKnownResult; expires: number }>();

function cacheTtl(res: Response): number {
  const m = /max-age=(\d+)/i.exec(res.headers.get('Cache-Control') ?? '');
  return Math.min(m ? Number(m[1]) * 1000 : WELL_KNOWN_TTL_MS, WELL_KNOWN_MAX_TTL_MS);
}

async function fetchWellKnown(host: string, doFetch: typeof fetch, now: number): Promise<WellKnownResult> {
  const cached = wellKnownCache.get(host);
  if (cached && cached.expires > now) return cached.result;
  let result: WellKnownResult = { found: false };
  let ttl = WELL_KNOWN_ERROR_TTL_MS;
  try {
    const res = await doFetch(`https://${host}/.well-known/matrix/server`, { redirect: 'follow', signal: AbortSignal.timeout(WELL_KNOWN_TIMEOUT_MS) });
    if (res.ok) {
      result = parseWellKnown(await res.json());
      if (result.found) ttl = cacheTtl(res);
    }
  } catch {
    // Spec: a failed lookup means no delegation.
  }
  wellKnownCache.set(host, { result, expires: now + ttl });
  return result;
}

/** Where `destination`'s requests go. @throws TypeError for something that is no server name */
export async function resolveServer(sender: FederationSender, destination: string): Promise<ServerEndpoint> {
  const configured = sender.hosts[destination];
  if (configured !== undefined) return configuredEndpoint(destination, configured);
  const direct = resolveWithoutWellKnown(destination);
  if (direct) return direct;
  return resolveWithWellKnown(destination, await fetchWellKnown(destination, sender.fetch ?? fetch, Date.now()));
}

/** The `Authorization` header of a request from `sender` (exported for test harnesses). */
export async function xMatrixAuthorization(sender: FederationSender, destination: string, method: string, uri: string, content?: JsonValue): Promise<string> {
  const signed = requestSigningObject({ method, uri, origin: sender.serverName, destination, ...(content !== undefined ? { content } : {}) });
  const sig = await signBytes(signingInput(signed), sender.serverName, sender.signingKey.keyId, sender.signingKey.seed, webCryptoEd25519);
  return formatXMatrix({ origin: sender.serverName, destination, key: sender.signingKey.keyId, sig });
}

/**
 * Send one signed request and return its JSON body. Non-2xx answers throw `FederationError`
 * with the status and the remote's error body; network failures throw it without a status.
 */
export async function federationRequest<T = JsonObject>(
  sender: FederationSender, destination: string, method: 'GET' | 'PUT' | 'POST', uri: string, content?: JsonObject,
): Promise<T> {
  return (await federationRequestWithText<T>(sender, destination, method, uri, content)).body;
}

/**
 * `federationRequest`, also returning the answer's raw text: PDUs fetched from another server
 * are checked on it (strict canonical JSON, which the parsed value cannot show).
 */
export async function federationRequestWithText<T = JsonObject>(
  sender: FederationSender, destination: string, method: 'GET' | 'PUT' | 'POST', uri: string, content?: JsonObject,
): Promise<{ body: T; text: string }> {
  const endpoint = await resolveServer(sender, destination);
  const headers: Record<string, string> = { Authorization: await xMatrixAuthorization(sender, destination, method, uri, content) };
  // A Worker cannot set Host on fetch; configured hosts are reached by URL, others by their name.
  if (content !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await (sender.fetch ?? fetch)(`${endpoint.baseUrl}${uri}`, {
      method,
      headers,
      ...(content !== undefined ? { body: encodeCanonicalJson(content) } : {}),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (e) {
    throw new FederationError(`${method} ${destination}${uri}: ${(e as Error).message}`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new FederationError(`${method} ${destination}${uri}: answer is not JSON (status ${res.status})`, res.status);
  }
  if (!res.ok) {
    const error = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as JsonObject) : undefined;
    throw new FederationError(`${method} ${destination}${uri}: ${res.status} ${typeof error?.errcode === 'string' ? error.errcode : ''}`, res.status, error);
  }
  return { body: body as T, text };
}

/** The sender of this homeserver's outbound requests, from its configuration. */
export function federationSender(config: { serverName: string; signingKey: { keyId: string; seed: Uint8Array }; federationHosts: Readonly<Record<string, string>> }): FederationSender {
  return { serverName: config.serverName, signingKey: config.signingKey, hosts: config.federationHosts };
}
