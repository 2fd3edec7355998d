/**
 * Identifier grammars (spec appendix "Identifier Grammar"). parse* functions
 * validate once at the boundary and return branded strings; they throw a
 * TypeError naming the violated rule. isValid* are the boolean forms.
 */
import type { EventIdFormat } from './room-versions';

declare const brand: unique symbol;
type Brand<T extends string> = string & { readonly [brand]: T };

/** A validated server name (`host[:port]`). */
export type ServerName = Brand<'ServerName'>;
/** A validated user ID (`@localpart:server`). */
export type UserId = Brand<'UserId'>;
/** A validated room ID (`!opaque:server`, or v12 `!` + reference hash). */
export type RoomId = Brand<'RoomId'>;
/** A validated event ID (any room version's format). */
export type EventId = Brand<'EventId'>;
/** A validated room alias (`#alias:server`). */
export type RoomAlias = Brand<'RoomAlias'>;

/** Spec: user IDs, room IDs, aliases and event IDs MUST NOT exceed 255 bytes incl. sigil and domain. */
export const MAX_ID_LENGTH = 255;

const DNS_NAME = /^[A-Za-z0-9.-]{1,255}$/;
const IPV4 = /^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/;
const IPV6_CHARS = /^[0-9A-Fa-f:.]{2,45}$/;
const PORT = /^[0-9]{1,5}$/;
/** Appendix "User Identifiers": localparts of new users. */
const STRICT_LOCALPART = /^[a-z0-9._=\-/+]+$/;
/** Historical user IDs: any printable ASCII except ':' (U+0021–0039, U+003B–007E). */
const HISTORICAL_LOCALPART = /^[\x21-\x39\x3b-\x7e]+$/;
const STD_HASH = /^[A-Za-z0-9+/]{43}$/;
const URL_HASH = /^[A-Za-z0-9_-]{43}$/;

/** Host and optional port of a server name. */
export type ServerNameParts = { host: string; port: number | undefined };

function fail(kind: string, value: unknown, rule: string): never {
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 80 ? value.slice(0, 80) + '…' : value) : typeof value;
  throw new TypeError(`invalid ${kind} ${shown}: ${rule}`);
}

function byteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) { n += 4; i++; }
    else n += 3;
  }
  return n;
}

/** Splits and validates `host[:port]`; throws TypeError on any grammar violation. */
export function splitServerName(s: string): ServerNameParts {
  if (typeof s !== 'string') fail('server name', s, 'must be a string');
  let host: string;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) fail('server name', s, 'IPv6 literal must end with "]"');
    host = s.slice(0, close + 1);
    const rest = s.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) fail('server name', s, 'only ":port" may follow an IPv6 literal');
    portText = rest === '' ? undefined : rest.slice(1);
    const inner = host.slice(1, -1);
    if (!IPV6_CHARS.test(inner) || !inner.includes(':')) fail('server name', s, 'IPv6 literal must be 2-45 hex digits, ":" and "."');
  } else {
    const colon = s.indexOf(':');
    host = colon < 0 ? s : s.slice(0, colon);
    portText = colon < 0 ? undefined : s.slice(colon + 1);
    if (!DNS_NAME.test(host)) fail('server name', s, 'host must be an IPv4 address, [IPv6] literal or DNS name of 1-255 chars [A-Za-z0-9.-]');
  }
  let port: number | undefined;
  if (portText !== undefined) {
    if (!PORT.test(portText)) fail('server name', s, 'port must be 1-5 decimal digits');
    port = Number(portText);
    if (port < 1 || port > 65535) fail('server name', s, 'port must be in 1-65535');
  }
  return { host, port };
}

/** True when `host` is written as a dotted-quad IPv4 literal. */
export function isIpv4Literal(host: string): boolean {
  return IPV4.test(host) && host.split('.').every((o) => Number(o) <= 255);
}

/** Validates a server name. */
export function parseServerName(s: string): ServerName {
  splitServerName(s);
  return s as ServerName;
}

function splitSigilled(kind: string, sigil: string, s: string): { local: string; server: string } {
  if (typeof s !== 'string') fail(kind, s, 'must be a string');
  if (!s.startsWith(sigil)) fail(kind, s, `must start with "${sigil}"`);
  if (byteLength(s) > MAX_ID_LENGTH) fail(kind, s, `must not exceed ${MAX_ID_LENGTH} bytes`);
  const colon = s.indexOf(':');
  if (colon < 0) fail(kind, s, 'must contain ":" followed by a server name');
  const local = s.slice(1, colon);
  const server = s.slice(colon + 1);
  try {
    splitServerName(server);
  } catch (e) {
    fail(kind, s, `server part: ${(e as Error).message}`);
  }
  return { local, server };
}

/** Options for user ID parsing. */
export type UserIdOptions = {
  /** Require the current localpart grammar `[a-z0-9._=\-/+]` (registering new local users). Default false: historical IDs from other servers are accepted. */
  strict?: boolean;
};

/** Parses `@localpart:server`. */
export function parseUserId(s: string, options: UserIdOptions = {}): UserId {
  const { local } = splitSigilled('user ID', '@', s);
  if (local === '') fail('user ID', s, 'localpart must not be empty');
  if (options.strict === true) {
    if (!STRICT_LOCALPART.test(local)) fail('user ID', s, 'localpart may only contain a-z 0-9 . _ = - / +');
  } else if (!HISTORICAL_LOCALPART.test(local)) {
    fail('user ID', s, 'localpart may only contain printable ASCII other than ":"');
  }
  return s as UserId;
}

/** Parses a room alias `#alias:server`. */
export function parseRoomAlias(s: string): RoomAlias {
  const { local } = splitSigilled('room alias', '#', s);
  if (local === '') fail('room alias', s, 'alias localpart must not be empty');
  return s as RoomAlias;
}

/** Parses a room ID: `!opaque:server` (v1-v11) or `!` + 43-char URL-safe hash (v12, no server). */
export function parseRoomId(s: string): RoomId {
  if (typeof s !== 'string') fail('room ID', s, 'must be a string');
  if (!s.startsWith('!')) fail('room ID', s, 'must start with "!"');
  if (!s.includes(':')) {
    if (!URL_HASH.test(s.slice(1))) fail('room ID', s, 'without a server name it must be "!" + 43 URL-safe base64 chars (room v12)');
    return s as RoomId;
  }
  const { local } = splitSigilled('room ID', '!', s);
  if (local === '') fail('room ID', s, 'opaque part must not be empty');
  return s as RoomId;
}

/** Parses an event ID; with `format`, only that room version's format is accepted. */
export function parseEventId(s: string, format?: EventIdFormat): EventId {
  if (typeof s !== 'string') fail('event ID', s, 'must be a string');
  if (!s.startsWith('$')) fail('event ID', s, 'must start with "$"');
  const body = s.slice(1);
  const asField = (): boolean => {
    if (!s.includes(':')) return false;
    const { local } = splitSigilled('event ID', '$', s);
    return local !== '';
  };
  switch (format) {
    case 'event_id_field':
      if (!asField()) fail('event ID', s, 'room v1-v2 event IDs are "$opaque:server"');
      break;
    case 'reference_hash_base64':
      if (!STD_HASH.test(body)) fail('event ID', s, 'room v3 event IDs are "$" + 43 standard base64 chars');
      break;
    case 'reference_hash_url_safe_base64':
      if (!URL_HASH.test(body)) fail('event ID', s, 'room v4+ event IDs are "$" + 43 URL-safe base64 chars');
      break;
    case undefined:
      if (!STD_HASH.test(body) && !URL_HASH.test(body) && !asField()) {
        fail('event ID', s, 'must be "$opaque:server" or "$" + 43 base64 chars');
      }
      break;
    default:
      fail('event ID', s, `unknown event ID format ${String(format)}`);
  }
  return s as EventId;
}

function predicate<A extends unknown[]>(fn: (s: string, ...a: A) => unknown) {
  return (s: unknown, ...a: A): boolean => {
    if (typeof s !== 'string') return false;
    try {
      fn(s, ...a);
      return true;
    } catch {
      return false;
    }
  };
}

/** True when `s` is a valid server name. */
export const isValidServerName: (s: unknown) => s is ServerName = predicate(parseServerName) as (s: unknown) => s is ServerName;
/** True when `s` is a valid user ID (historical grammar unless `strict`). */
export const isValidUserId: (s: unknown, options?: UserIdOptions) => s is UserId = predicate(parseUserId) as (s: unknown, o?: UserIdOptions) => s is UserId;
/** True when `s` is a valid room ID. */
export const isValidRoomId: (s: unknown) => s is RoomId = predicate(parseRoomId) as (s: unknown) => s is RoomId;
/** True when `s` is a valid event ID (optionally of one format). */
export const isValidEventId: (s: unknown, format?: EventIdFormat) => s is EventId = predicate(parseEventId) as (s: unknown, f?: EventIdFormat) => s is EventId;
/** True when `s` is a valid room alias. */
export const isValidRoomAlias: (s: unknown) => s is RoomAlias = predicate(parseRoomAlias) as (s: unknown) => s is RoomAlias;

/** The server name of a user ID, room alias, or v1-v11 room/event ID. */
export function serverNameOf(id: UserId | RoomAlias | RoomId | EventId): ServerName | undefined {
  const colon = id.indexOf(':');
  return colon < 0 ? undefined : (id.slice(colon + 1) as ServerName);
}

/** The localpart of a user ID (between "@" and the first ":"). */
export function localpartOf(id: UserId): string {
  return id.slice(1, id.indexOf(':'));
}
