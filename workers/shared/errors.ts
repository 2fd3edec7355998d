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
  | 'M_INCOMPATIBLE_ROOM_VERSION';

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
}
