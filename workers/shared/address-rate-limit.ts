/**
 * Rate limits per client address (spec v1.16 "Rate limiting"), for requests made before there
 * is a user to count them against (registration).
 * https://spec.matrix.org/v1.16/client-server-api/#rate-limiting
 *
 * Best effort, by design: the buckets live in the isolate's memory (one `RateLimiter` per
 * configuration and class, at most 10,000 addresses each), so each isolate counts on its own
 * and a new isolate starts afresh. That bounds what one client can do through one isolate
 * without a storage write per request; a global count would need a Durable Object per
 * address. The address is Cloudflare's `CF-Connecting-IP` (Miniflare sets it too); a request
 * without one (a direct call in tests) is not counted.
 */
import { RateLimiter } from '../../core/rate-limit';
import { homeserverConfig, type HomeserverConfig, type HomeserverVars, type RateLimitClass } from './config';
import { limitExceeded } from './errors';

/** The classes counted per address. */
export type AddressRateLimitClass = Extract<RateLimitClass, 'registration'>;

const limiters = new WeakMap<HomeserverConfig, Map<AddressRateLimitClass, RateLimiter>>();

function limiterOf(config: HomeserverConfig, cls: AddressRateLimitClass): RateLimiter {
  let byClass = limiters.get(config);
  if (!byClass) limiters.set(config, (byClass = new Map()));
  let limiter = byClass.get(cls);
  if (!limiter) byClass.set(cls, (limiter = new RateLimiter(config.rateLimits[cls])));
  return limiter;
}

/**
 * Count one request of `cls` from `address` at `now`.
 * @throws MatrixError 429 `M_LIMIT_EXCEEDED` when the address is over its rate.
 */
export function takeAddressRateLimit(env: HomeserverVars, cls: AddressRateLimitClass, address: string | null, now: number): void {
  if (address === null || address === '') return;
  const verdict = limiterOf(homeserverConfig(env), cls).take(address, now);
  if (!verdict.allowed) throw limitExceeded(verdict.retryAfterMs);
}
