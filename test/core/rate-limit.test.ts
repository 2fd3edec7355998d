/** Token buckets (core/rate-limit.ts): burst, refill, retry times, refunds and the bounded limiter. */
import { describe, expect, it } from 'vitest';
import { RateLimiter, peek, refill, refund, take, type TokenBucket } from '../../core/rate-limit';

const T0 = 1_700_000_000_000;
const LIMIT = { perSecond: 2, burst: 3 };

/** Take `n` actions at `now`, threading the bucket; the verdicts' `allowed`. */
function takeN(n: number, now: number, start?: TokenBucket): { allowed: boolean[]; bucket: TokenBucket | undefined } {
  let bucket = start;
  const allowed: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const v = take(bucket, LIMIT, now);
    allowed.push(v.allowed);
    bucket = v.bucket;
  }
  return { allowed, bucket };
}

describe('token bucket', () => {
  it('allows a burst at once, then refuses with the time until the next token', () => {
    const { allowed, bucket } = takeN(4, T0);
    expect(allowed).toEqual([true, true, true, false]);
    const v = take(bucket, LIMIT, T0);
    expect(v).toEqual({ allowed: false, bucket: { tokens: 0, at: T0 }, retryAfterMs: 500 });
  });

  it('refills at the rate, capped at the burst, and allows again after retryAfterMs', () => {
    const { bucket } = takeN(3, T0);
    const refused = take(bucket, LIMIT, T0 + 100);
    expect(refused.allowed).toBe(false);
    if (refused.allowed) return;
    expect(refused.retryAfterMs).toBe(400);
    expect(take(refused.bucket, LIMIT, T0 + 100 + refused.retryAfterMs).allowed).toBe(true);
    // A long pause gives back no more than the burst.
    expect(refill(bucket, LIMIT, T0 + 60_000)).toEqual({ tokens: 3, at: T0 + 60_000 });
    expect(takeN(4, T0 + 60_000, bucket).allowed).toEqual([true, true, true, false]);
  });

  it('rounds retry times up to whole milliseconds, never 0', () => {
    const slow = { perSecond: 3, burst: 1 };
    const v = take(take(undefined, slow, T0).bucket, slow, T0);
    expect(v.allowed).toBe(false);
    if (!v.allowed) expect(v.retryAfterMs).toBe(334);
    const almost = take({ tokens: 0.9999999, at: T0 }, { perSecond: 1000, burst: 1 }, T0);
    expect(almost.allowed).toBe(false);
    if (!almost.allowed) expect(almost.retryAfterMs).toBe(1);
  });

  it('takes nothing when refusing or peeking, and ignores a clock that went back', () => {
    const { bucket } = takeN(3, T0);
    const refused = take(bucket, LIMIT, T0);
    expect(refused.bucket).toEqual(bucket);
    expect(peek({ tokens: 2, at: T0 }, LIMIT, T0)).toEqual({ allowed: true, bucket: { tokens: 2, at: T0 } });
    expect(refill({ tokens: 1, at: T0 }, LIMIT, T0 - 5_000)).toEqual({ tokens: 1, at: T0 });
  });

  it('refunds a taken token, never beyond the burst', () => {
    const taken = take(undefined, LIMIT, T0);
    expect(taken.bucket.tokens).toBe(2);
    expect(refund(taken.bucket, LIMIT, T0)).toEqual({ tokens: 3, at: T0 });
    expect(refund(undefined, LIMIT, T0)).toEqual({ tokens: 3, at: T0 });
  });

  it('rejects a rate that is not positive', () => {
    expect(() => take(undefined, { perSecond: 0, burst: 3 }, T0)).toThrow(RangeError);
    expect(() => take(undefined, { perSecond: 1, burst: 0 }, T0)).toThrow(RangeError);
    expect(() => new RateLimiter({ perSecond: Number.NaN, burst: 1 })).toThrow(RangeError);
  });
});

describe('RateLimiter', () => {
  it('keeps a bucket per key', () => {
    const limiter = new RateLimiter(LIMIT);
    for (let i = 0; i < 3; i++) expect(limiter.take('a', T0).allowed).toBe(true);
    expect(limiter.take('a', T0).allowed).toBe(false);
    expect(limiter.peek('a', T0).allowed).toBe(false);
    expect(limiter.take('b', T0).allowed).toBe(true);
    expect(limiter.take('a', T0 + 500).allowed).toBe(true);
  });

  it('stays within maxKeys, dropping full buckets first, then the least recently used', () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 2 }, 3);
    limiter.take('old', T0);
    limiter.take('busy', T0);
    limiter.take('busy', T0);
    limiter.take('third', T0 + 1_000);
    expect(limiter.size).toBe(3);
    // At T0 + 1500 'old' is full again (1 + 1.5 tokens, capped at 2): it goes first.
    limiter.take('new', T0 + 1_500);
    expect(limiter.size).toBe(3);
    expect(limiter.peek('busy', T0 + 1_500).bucket.tokens).toBeCloseTo(1.5);
    // No full bucket left: the least recently used ('busy') makes room.
    limiter.take('newer', T0 + 1_500);
    expect(limiter.size).toBe(3);
    expect(limiter.peek('busy', T0 + 1_500).bucket.tokens).toBe(2);
    expect(limiter.peek('third', T0 + 1_500).bucket.tokens).toBeCloseTo(1.5);
  });
});
