/**
 * @module Token buckets for rate limiting (spec v1.16, Client-Server API "Rate limiting"):
 * https://spec.matrix.org/v1.16/client-server-api/#rate-limiting
 *
 * > Homeservers SHOULD implement rate limiting to reduce the risk of being overloaded. If a
 * > request is refused due to rate limiting, it should return a standard error response of
 * > the form `{ "errcode": "M_LIMIT_EXCEEDED", "error": "string", "retry_after_ms": integer }`
 *
 * A bucket holds up to `burst` tokens and gains `perSecond` tokens a second; an action costs
 * one. So a caller may do `burst` actions at once and `perSecond` a second after that
 * (Synapse's `rc_*` settings mean the same: `per_second` and `burst_count`). Pure: time is a
 * parameter, buckets are values; `RateLimiter` keeps buckets by key in memory, for callers that
 * own their keys (a User object for its user, an isolate for client addresses).
 */

/** A rate: `perSecond` actions a second on average, up to `burst` at once. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** A bucket: `tokens` available at time `at` (ms since the epoch). */
export interface TokenBucket {
  readonly tokens: number;
  readonly at: number;
}

/** Whether an action may go ahead, the bucket after it, and when to retry when it may not. */
export type RateLimitVerdict =
  | { readonly allowed: true; readonly bucket: TokenBucket }
  | { readonly allowed: false; readonly bucket: TokenBucket; readonly retryAfterMs: number };

/**
 * The bucket at `now`: refilled for the time since it was last seen, capped at `burst`. A new
 * caller (no bucket) starts full; a clock that went backwards refills nothing.
 * @param bucket the bucket as last stored, or undefined for a new caller.
 * @param limit the rate.
 * @param now the current time, ms since the epoch.
 * @returns the bucket at `now`.
 */
export function refill(bucket: TokenBucket | undefined, limit: RateLimit, now: number): TokenBucket {
  if (!bucket) return { tokens: limit.burst, at: now };
  const elapsed = Math.max(0, now - bucket.at);
  return { tokens: Math.min(limit.burst, bucket.tokens + (elapsed * limit.perSecond) / 1000), at: Math.max(now, bucket.at) };
}

function verdict(bucket: TokenBucket, limit: RateLimit, cost: number): RateLimitVerdict {
  if (bucket.tokens >= cost) return { allowed: true, bucket };
  // Whole milliseconds, rounded up so that a retry after that long is allowed.
  return { allowed: false, bucket, retryAfterMs: Math.max(1, Math.ceil(((cost - bucket.tokens) * 1000) / limit.perSecond)) };
}

/**
 * Whether an action costing `cost` would be allowed now, without taking anything (for checks
 * made before the outcome that costs is known, as for failed logins).
 * @throws RangeError when the limit is not positive.
 */
export function peek(bucket: TokenBucket | undefined, limit: RateLimit, now: number, cost = 1): RateLimitVerdict {
  checkLimit(limit);
  return verdict(refill(bucket, limit, now), limit, cost);
}

/**
 * Take `cost` tokens for an action at `now`. A refused action takes nothing, so a client that
 * keeps retrying too early is not locked out for longer.
 * @returns the verdict; store its `bucket` either way.
 * @throws RangeError when the limit is not positive.
 */
export function take(bucket: TokenBucket | undefined, limit: RateLimit, now: number, cost = 1): RateLimitVerdict {
  const v = peek(bucket, limit, now, cost);
  return v.allowed ? { allowed: true, bucket: { tokens: v.bucket.tokens - cost, at: v.bucket.at } } : v;
}

/**
 * Give back `cost` tokens taken for an action that turned out not to count (a login whose
 * password was right, when only failures count): taking before the outcome is known keeps
 * concurrent attempts from all passing a check, and this undoes it. Capped at `burst`.
 */
export function refund(bucket: TokenBucket | undefined, limit: RateLimit, now: number, cost = 1): TokenBucket {
  checkLimit(limit);
  const b = refill(bucket, limit, now);
  return { tokens: Math.min(limit.burst, b.tokens + cost), at: b.at };
}

function checkLimit(limit: RateLimit): void {
  if (!(limit.perSecond > 0) || !Number.isFinite(limit.perSecond)) throw new RangeError(`perSecond must be a positive number, got ${limit.perSecond}`);
  if (!(limit.burst >= 1) || !Number.isFinite(limit.burst)) throw new RangeError(`burst must be at least 1, got ${limit.burst}`);
}

/**
 * Buckets of one rate by key, in memory. At most `maxKeys` are kept: when a new key would
 * exceed that, the buckets that are full again (which behave exactly like absent ones) are
 * dropped first, then the least recently used, so memory stays bounded whatever the callers
 * send (forgetting a bucket can only let its caller do more, never less).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  /** @throws RangeError when the limit is not positive or `maxKeys` is below 1. */
  constructor(
    readonly limit: RateLimit,
    private readonly maxKeys = 10_000,
  ) {
    checkLimit(limit);
    if (!(maxKeys >= 1)) throw new RangeError(`maxKeys must be at least 1, got ${maxKeys}`);
  }

  /** Take one action's tokens for `key` (see `take`). */
  take(key: string, now: number, cost = 1): RateLimitVerdict {
    const v = take(this.buckets.get(key), this.limit, now, cost);
    // Re-insert so the Map's order is least recently used first.
    this.buckets.delete(key);
    if (this.buckets.size >= this.maxKeys) this.evict(now);
    this.buckets.set(key, v.bucket);
    return v;
  }

  /** Whether `key` may act now, taking nothing (see `peek`). */
  peek(key: string, now: number, cost = 1): RateLimitVerdict {
    return peek(this.buckets.get(key), this.limit, now, cost);
  }

  /** How many keys are held. */
  get size(): number {
    return this.buckets.size;
  }

  private evict(now: number): void {
    for (const [k, b] of this.buckets) {
      if (refill(b, this.limit, now).tokens >= this.limit.burst) this.buckets.delete(k);
    }
    for (const k of this.buckets.keys()) {
      if (this.buckets.size < this.maxKeys) break;
      this.buckets.delete(k);
    }
  }
}
