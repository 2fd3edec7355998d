/**
 * The User object's rate limits (spec v1.16, Client-Server API "Rate limiting"): one token
 * bucket per rate-limited action of this user (core/rate-limit.ts), with the rates from the
 * configuration. Checked inside calls the object gets anyway (`authenticate`, `performLogin`),
 * so limiting costs no extra round trip.
 * https://spec.matrix.org/v1.16/client-server-api/#rate-limiting
 *
 * The buckets live in memory: an object that is evicted (after a while without calls) starts
 * full again, which can only allow more, and writing a bucket per request would cost a
 * storage write on every send.
 */
import { refund, take, type TokenBucket } from '../../core/rate-limit';
import { homeserverConfig, type HomeserverVars, type RateLimitClass } from '../../workers/shared/config';
import type { UserFailure } from './api';

export class UserRateLimits {
  private readonly buckets = new Map<RateLimitClass, TokenBucket>();

  constructor(private readonly env: HomeserverVars) {}

  /**
   * Take one action of `cls` at `now`.
   * @returns undefined when allowed, else the `M_LIMIT_EXCEEDED` failure to answer with.
   */
  take(cls: RateLimitClass, now: number): UserFailure | undefined {
    const v = take(this.buckets.get(cls), homeserverConfig(this.env).rateLimits[cls], now);
    this.buckets.set(cls, v.bucket);
    if (v.allowed) return undefined;
    return { ok: false, errcode: 'M_LIMIT_EXCEEDED', error: 'Too many requests; try again later.', retry_after_ms: v.retryAfterMs };
  }

  /** Give back an action of `cls` taken at `now` that turned out not to count. */
  refund(cls: RateLimitClass, now: number): void {
    this.buckets.set(cls, refund(this.buckets.get(cls), homeserverConfig(this.env).rateLimits[cls], now));
  }
}
