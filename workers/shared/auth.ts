/**
 * THE auth gate of the Client-Server API (spec: "Client Authentication"). Every client route
 * names its gate when it is registered: `requireAccessToken()`, `optionalAccessToken()` or
 * `noAuth()`. The gate reads the token from `Authorization: Bearer` (or the deprecated
 * `access_token` query parameter), resolves it to `{ userId, deviceId }` through the user's
 * object and sets `c.var.auth`. Handlers never look at tokens.
 *
 * Tokens carry their user ID (see access-token.ts), so the gate needs no global table: it asks
 * `env.USER.getByName(userId)` whether it knows the token's SHA-256.
 */
import type { MiddlewareHandler } from 'hono';
import { userApi, type UserRateLimitClass } from '../../durable-objects/user/api';
import { hashAccessToken, userIdOfToken } from './access-token';
import { takeAddressRateLimit, type AddressRateLimitClass } from './address-rate-limit';
import type { HomeserverVars } from './config';
import { MatrixError, matrixErrorOf } from './errors';

/** Who made an authenticated request. */
export interface Auth {
  userId: string;
  deviceId: string;
}

export interface AuthBindings extends HomeserverVars {
  USER: DurableObjectNamespace;
}

export type AuthKind = 'accessToken' | 'accessTokenOptional' | 'none' | 'serverSignature';

type Gate<V extends object> = MiddlewareHandler<{ Bindings: AuthBindings; Variables: V }>;

/** Which gate a registered handler is, so a test can walk the route table (`app.routes`). */
const GATES = new WeakMap<object, AuthKind>();

export function authKindOf(handler: object): AuthKind | undefined {
  return GATES.get(handler);
}

/** Spec: "Clients may ... pass the token in the Authorization header ... or as a query parameter". */
function tokenOf(header: string | undefined, query: string | undefined): string | undefined {
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m) return m[1];
  }
  return query || undefined;
}

const unknownToken = () => new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Unrecognised access token.', { soft_logout: false });

async function resolve(namespace: DurableObjectNamespace, token: string, ip: string | null, rateLimit?: UserRateLimitClass): Promise<Auth> {
  const userId = userIdOfToken(token);
  if (!userId) throw unknownToken();
  const result = await userApi(namespace, userId).authenticate(await hashAccessToken(token), { now: Date.now(), ip }, rateLimit);
  if (!result.ok && result.errcode === 'M_LIMIT_EXCEEDED') throw matrixErrorOf(result);
  if (!result.ok) throw unknownToken();
  return { userId: result.user_id, deviceId: result.device_id };
}

function gate<V extends object>(kind: AuthKind, handler: Gate<V>): Gate<V> {
  GATES.set(handler, kind);
  return handler;
}

/** Mark the Server-Server API's gate (workers/homeserver/federation/auth.ts), so route walks see it. */
export function serverGate<H extends object>(handler: H): H {
  GATES.set(handler, 'serverSignature');
  return handler;
}

/**
 * The route needs an access token: missing → `401 M_MISSING_TOKEN`, unknown → `401 M_UNKNOWN_TOKEN`.
 * With `rateLimit` (spec "Rate limiting"), the request counts against the user's bucket of that
 * class inside the same `authenticate` call (no extra round trip): over it → `429 M_LIMIT_EXCEEDED`.
 */
export function requireAccessToken(options: { rateLimit?: UserRateLimitClass } = {}): Gate<{ auth: Auth }> {
  return gate('accessToken', async (c, next) => {
    const token = tokenOf(c.req.header('Authorization'), c.req.query('access_token'));
    if (token === undefined) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token.');
    c.set('auth', await resolve(c.env.USER, token, c.req.header('CF-Connecting-IP') ?? null, options.rateLimit));
    await next();
  });
}

/** The route works with or without a token; a token that is given must be valid. */
export function optionalAccessToken(): Gate<{ auth?: Auth }> {
  return gate('accessTokenOptional', async (c, next) => {
    const token = tokenOf(c.req.header('Authorization'), c.req.query('access_token'));
    if (token !== undefined) c.set('auth', await resolve(c.env.USER, token, c.req.header('CF-Connecting-IP') ?? null));
    await next();
  });
}

/**
 * The route is public; registering it with this gate says so explicitly. With `rateLimit`, the
 * request counts against the client address's bucket of that class (address-rate-limit.ts).
 */
export function noAuth(options: { rateLimit?: AddressRateLimitClass } = {}): Gate<object> {
  return gate('none', async (c, next) => {
    if (options.rateLimit) takeAddressRateLimit(c.env, options.rateLimit, c.req.header('CF-Connecting-IP') ?? null, Date.now());
    await next();
  });
}
