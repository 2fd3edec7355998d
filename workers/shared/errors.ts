/**
 * The one Matrix error type. Handlers and middleware throw it; `createApp`'s `onError` turns it
 * into the spec's standard error response `{errcode, error, ...extra}` (spec: Client-Server API,
 * "Standard error response").
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Error codes used so far; the string union keeps typos out of handlers. */
export type Errcode =
  | 'M_FORBIDDEN'
  | 'M_UNKNOWN_TOKEN'
  | 'M_MISSING_TOKEN'
  | 'M_BAD_JSON'
  | 'M_NOT_JSON'
  | 'M_NOT_FOUND'
  | 'M_LIMIT_EXCEEDED'
  | 'M_UNRECOGNIZED'
  | 'M_UNKNOWN'
  | 'M_INVALID_PARAM'
  | 'M_MISSING_PARAM'
  | 'M_TOO_LARGE'
  | 'M_UNAUTHORIZED'
  | 'M_UNSUPPORTED_ROOM_VERSION'
  | 'M_INCOMPATIBLE_ROOM_VERSION'
  | 'M_USER_IN_USE'
  | 'M_INVALID_USERNAME'
  | 'M_USER_DEACTIVATED'
  | 'M_GUEST_ACCESS_FORBIDDEN'
  | 'M_PROFILE_TOO_LARGE'
  | 'M_KEY_TOO_LARGE'
  | 'M_ROOM_IN_USE'
  | 'M_BAD_ALIAS'
  | 'M_WRONG_ROOM_KEYS_VERSION'
  | 'M_INVALID_SIGNATURE';

export class MatrixError extends Error {
  override readonly name = 'MatrixError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly errcode: Errcode,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }

  toJSON(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }

  /** Response headers that go with the error: `Retry-After` for a rate limit (see `limitExceeded`). */
  headers(): Record<string, string> {
    const ms = this.extra.retry_after_ms;
    return typeof ms === 'number' ? { 'Retry-After': String(Math.ceil(ms / 1000)) } : {};
  }
}

/**
 * `429 M_LIMIT_EXCEEDED` (spec v1.16 "Rate limiting"): the wait in `retry_after_ms`, and in
 * HTTP's own `Retry-After` header (whole seconds, rounded up) for clients that read that.
 * https://spec.matrix.org/v1.16/client-server-api/#rate-limiting
 */
export function limitExceeded(retryAfterMs: number): MatrixError {
  return new MatrixError(429, 'M_LIMIT_EXCEEDED', 'Too many requests.', { retry_after_ms: retryAfterMs });
}

/** The status an errcode has when an expected failure comes back as a value (e.g. over DO RPC). */
const STATUS_OF: Partial<Record<Errcode, ContentfulStatusCode>> = {
  M_FORBIDDEN: 403,
  M_USER_DEACTIVATED: 403,
  M_GUEST_ACCESS_FORBIDDEN: 403,
  M_UNKNOWN_TOKEN: 401,
  M_MISSING_TOKEN: 401,
  M_UNAUTHORIZED: 401,
  M_NOT_FOUND: 404,
  M_LIMIT_EXCEEDED: 429,
  M_TOO_LARGE: 413,
  M_UNKNOWN: 500,
};

/**
 * The `MatrixError` for a failure value `{ errcode, error }` (how Durable Objects return
 * expected failures, since thrown errors lose their errcode across RPC). Unlisted errcodes are
 * client errors (400).
 */
export function matrixErrorOf(failure: { errcode: Errcode; error: string; retry_after_ms?: number }): MatrixError {
  if (failure.errcode === 'M_LIMIT_EXCEEDED' && failure.retry_after_ms !== undefined) return limitExceeded(failure.retry_after_ms);
  return new MatrixError(STATUS_OF[failure.errcode] ?? 400, failure.errcode, failure.error);
}
