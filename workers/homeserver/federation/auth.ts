/**
 * THE auth gate of the Server-Server API (spec v1.16, "Request Authentication",
 * https://spec.matrix.org/v1.16/server-server-api/#request-authentication): the request carries
 * `Authorization: X-Matrix origin=…,destination=…,key=…,sig=…`; the signature covers
 * `{method, uri, origin, destination, content}` and must verify with the origin's key valid now;
 * `destination`, when given, must be this server. Sets `c.var.origin`. Handlers never look at
 * the header; room-level checks (server ACLs, membership) are theirs.
 */
import type { MiddlewareHandler } from 'hono';
import { decodeBase64 } from '../../../core/base64';
import type { JsonValue } from '../../../core/canonical-json';
import { webCryptoEd25519 } from '../../../core/crypto/ed25519-webcrypto';
import { signingInput } from '../../../core/crypto/signing';
import { parseXMatrix, receivedSigningObject } from '../../../core/federation/x-matrix';
import { serverGate } from '../../shared/auth';
import { MatrixError } from '../../shared/errors';
import { getServerVerifyKey } from '../../shared/server-keys';
import type { HomeserverEnv } from '../env';

const unauthorized = (message: string) => new MatrixError(401, 'M_UNAUTHORIZED', message);

/** The request's JSON body, if it has one (the same parse the handler gets back from Hono's cache). */
async function jsonBody(c: Parameters<MiddlewareHandler<HomeserverEnv>>[0]): Promise<JsonValue | undefined> {
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return undefined;
  const text = await c.req.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new MatrixError(400, 'M_NOT_JSON', 'Content not JSON.');
  }
}

export function requireServerAuth(): MiddlewareHandler<HomeserverEnv> {
  return serverGate(async (c, next) => {
    const header = c.req.header('Authorization');
    if (header === undefined) throw unauthorized('Missing X-Matrix authorization.');
    const parsed = parseXMatrix(header);
    if (!parsed.ok) throw unauthorized(parsed.error);
    const { auth } = parsed;
    const { serverName } = c.var.config;
    if (auth.destination !== undefined && auth.destination !== serverName) throw unauthorized(`Request is for ${auth.destination}, not ${serverName}.`);
    const url = new URL(c.req.url);
    const content = await jsonBody(c);
    const key = await getServerVerifyKey(c.env, auth.origin, auth.key, Date.now());
    if (!key) throw unauthorized(`No valid key ${auth.key} of ${auth.origin}.`);
    let sig: Uint8Array;
    try {
      sig = decodeBase64(auth.sig);
    } catch {
      throw unauthorized('Malformed signature.');
    }
    let input: Uint8Array;
    try {
      input = signingInput(receivedSigningObject(c.req.method, url.pathname + url.search, auth, serverName, content));
    } catch {
      // Signatures cover canonical JSON, which has no floats or out-of-range integers.
      throw new MatrixError(400, 'M_BAD_JSON', 'Content is not canonical JSON.');
    }
    if (!(await webCryptoEd25519.verify(key, input, sig))) throw unauthorized('Invalid signature.');
    c.set('origin', auth.origin);
    await next();
  });
}
