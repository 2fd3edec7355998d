/**
 * Request authentication between servers (spec v1.16, Server-Server API "Request
 * Authentication", https://spec.matrix.org/v1.16/server-server-api/#request-authentication):
 * the origin signs `{method, uri, origin, destination, content?}` with its server key and sends
 * the signature in an `Authorization: X-Matrix …` header. This module builds the signed object
 * and formats and parses the header; keys and verification are the caller's.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../canonical-json';
import { isValidServerName } from '../ids';

export interface RequestToSign {
  method: string;
  /** Path and query as sent, starting with `/_matrix/` (spec: "the request URI ... path and query"). */
  uri: string;
  origin: string;
  destination: string;
  /** The JSON body, for requests that have one. */
  content?: JsonValue;
}

/** The object whose canonical JSON the origin signs. */
export function requestSigningObject(r: RequestToSign): JsonObject {
  const out: JsonObject = { method: r.method.toUpperCase(), uri: r.uri, origin: r.origin, destination: r.destination };
  if (r.content !== undefined) out.content = r.content;
  return out;
}

/** The parameters of one `X-Matrix` authorization. */
export interface XMatrixAuth {
  origin: string;
  /** Absent from servers older than spec v1.3; the receiver then assumes itself. */
  destination?: string;
  /** Key ID, e.g. `ed25519:abc`. */
  key: string;
  /** Unpadded standard base64 signature. */
  sig: string;
}

/** A quoted-string parameter value (RFC 9110 §5.6.4): backslash escapes `\\` and `"`. */
const quoted = (v: string) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/** The header value, every parameter quoted (as Synapse sends it; receivers accept both forms). */
export function formatXMatrix(auth: XMatrixAuth): string {
  const parts = [`origin=${quoted(auth.origin)}`];
  if (auth.destination !== undefined) parts.push(`destination=${quoted(auth.destination)}`);
  parts.push(`key=${quoted(auth.key)}`, `sig=${quoted(auth.sig)}`);
  return `X-Matrix ${parts.join(',')}`;
}

export type XMatrixParse = { ok: true; auth: XMatrixAuth } | { ok: false; error: string };

/**
 * Parse an `Authorization` header value of scheme `X-Matrix`. Parameter names are
 * case-insensitive and unknown ones are ignored (spec); `origin`, `key` and `sig` are required,
 * `origin` and `destination` must be server names.
 */
export function parseXMatrix(header: string): XMatrixParse {
  const m = /^\s*X-Matrix\s+(.*)$/is.exec(header);
  if (!m) return { ok: false, error: 'Authorization scheme is not X-Matrix' };
  const params = new Map<string, string>();
  const rest = m[1]!;
  let i = 0;
  const skipSpace = () => {
    while (i < rest.length && (rest[i] === ' ' || rest[i] === '\t')) i++;
  };
  while (i < rest.length) {
    skipSpace();
    const name = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(rest.slice(i))?.[0];
    if (!name) return { ok: false, error: 'malformed X-Matrix parameter name' };
    i += name.length;
    skipSpace();
    if (rest[i] !== '=') return { ok: false, error: `X-Matrix parameter ${name} has no value` };
    i++;
    skipSpace();
    let value = '';
    if (rest[i] === '"') {
      i++;
      let closed = false;
      while (i < rest.length) {
        const c = rest[i++]!;
        if (c === '\\' && i < rest.length) value += rest[i++];
        else if (c === '"') {
          closed = true;
          break;
        } else value += c;
      }
      if (!closed) return { ok: false, error: 'unterminated quoted X-Matrix parameter' };
    } else {
      const token = /^[!#$%&'*+.^_`|~0-9A-Za-z:-]+/.exec(rest.slice(i))?.[0];
      if (!token) return { ok: false, error: `X-Matrix parameter ${name} has no value` };
      value = token;
      i += token.length;
    }
    const key = name.toLowerCase();
    if (params.has(key)) return { ok: false, error: `X-Matrix parameter ${key} given twice` };
    params.set(key, value);
    skipSpace();
    if (i < rest.length) {
      if (rest[i] !== ',') return { ok: false, error: 'X-Matrix parameters must be separated by commas' };
      i++;
    }
  }
  const origin = params.get('origin');
  const key = params.get('key');
  const sig = params.get('sig');
  const destination = params.get('destination');
  if (origin === undefined || key === undefined || sig === undefined) return { ok: false, error: 'X-Matrix needs origin, key and sig' };
  if (!isValidServerName(origin)) return { ok: false, error: 'X-Matrix origin is not a server name' };
  if (destination !== undefined && !isValidServerName(destination)) return { ok: false, error: 'X-Matrix destination is not a server name' };
  if (!/^ed25519:[A-Za-z0-9_]+$/.test(key)) return { ok: false, error: 'X-Matrix key is not an ed25519 key ID' };
  return { ok: true, auth: { origin, key, sig, ...(destination !== undefined ? { destination } : {}) } };
}

/** The signed object of a received request, for verification (`content` only for JSON bodies). */
export function receivedSigningObject(method: string, uri: string, auth: XMatrixAuth, ownServerName: string, content: unknown): JsonObject {
  return requestSigningObject({
    method,
    uri,
    origin: auth.origin,
    destination: auth.destination ?? ownServerName,
    ...(content !== undefined && (isJsonObject(content) || Array.isArray(content)) ? { content: content as JsonValue } : {}),
  });
}
