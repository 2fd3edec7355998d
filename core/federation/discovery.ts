/**
 * Server discovery (spec v1.16, Server-Server API "Resolving server names",
 * https://spec.matrix.org/v1.16/server-server-api/#resolving-server-names), as far as a Worker
 * can follow it: a Worker has no DNS SRV lookups, so steps 3.3/3.4 and 4/5 (SRV records) are
 * skipped and their fallback (port 8448) applies. Configured hosts (`FEDERATION_HOSTS`, for
 * local and test deployments) come first and are the only destinations that may use plain HTTP.
 *
 * Pure: the caller fetches `/.well-known/matrix/server` and caches the answer.
 */
import { isJsonObject } from '../canonical-json';
import { isIpv4Literal, splitServerName } from '../ids';

/** Where to send a server's requests: the base URL and the `Host` header to send. */
export interface ServerEndpoint {
  /** `https://host:port` (or the configured URL), without a trailing slash. */
  baseUrl: string;
  /** Spec: the Host header of every step; TLS certificates are checked for this name. */
  host: string;
}

export const DEFAULT_FEDERATION_PORT = 8448;

/** What fetching `https://<hostname>/.well-known/matrix/server` gave. */
export type WellKnownResult = { found: true; server: string } | { found: false };

const isIpLiteral = (host: string) => host.startsWith('[') || isIpv4Literal(host);

/** A configured base URL, e.g. `http://127.0.0.1:18448`, with the server name as Host. */
export function configuredEndpoint(serverName: string, baseUrl: string): ServerEndpoint {
  return { baseUrl: baseUrl.replace(/\/+$/, ''), host: serverName };
}

/**
 * Steps 1–2: an IP literal or an explicit port needs no well-known lookup. Returns undefined
 * when the caller must fetch the well-known file of `serverName`'s hostname (step 3).
 * @throws TypeError when `serverName` is not a server name
 */
export function resolveWithoutWellKnown(serverName: string): ServerEndpoint | undefined {
  const { host, port } = splitServerName(serverName);
  if (isIpLiteral(host)) return { baseUrl: `https://${host}:${port ?? DEFAULT_FEDERATION_PORT}`, host: serverName };
  if (port !== undefined) return { baseUrl: `https://${host}:${port}`, host: serverName };
  return undefined;
}

/**
 * Steps 3–6 from the well-known answer: a delegated server name is resolved as in steps 3.1–3.2
 * (IP literal or explicit port), else port 8448 on the delegated host (3.5); no delegation means
 * port 8448 on the hostname (step 6).
 */
export function resolveWithWellKnown(serverName: string, wellKnown: WellKnownResult): ServerEndpoint {
  const direct = resolveWithoutWellKnown(serverName);
  if (direct) return direct;
  const { host } = splitServerName(serverName);
  if (!wellKnown.found) return { baseUrl: `https://${host}:${DEFAULT_FEDERATION_PORT}`, host };
  // Every delegated case (3.1 IP literal, 3.2 explicit port, 3.5 port 8448) sends the
  // delegated server name exactly as given as the Host header.
  const delegated = splitServerName(wellKnown.server);
  return { baseUrl: `https://${delegated.host}:${delegated.port ?? DEFAULT_FEDERATION_PORT}`, host: wellKnown.server };
}

/**
 * Read a `/.well-known/matrix/server` body (spec "GET /.well-known/matrix/server"): an object
 * whose `m.server` is a server name. Anything else counts as no delegation (spec: "errors ...
 * the requesting server should ... proceed as if no delegation").
 */
export function parseWellKnown(body: unknown): WellKnownResult {
  if (!isJsonObject(body) || typeof body['m.server'] !== 'string') return { found: false };
  const server = body['m.server'];
  try {
    splitServerName(server);
  } catch {
    return { found: false };
  }
  return { found: true, server };
}
