import { ErrorCode, GatewayError } from "./errors.js";

/**
 * A token bucket per API key: `perMinute` operations, refilled evenly, so a burst of a minute's worth is allowed and
 * then one every 60/perMinute seconds. Keys are the configured API key names, so the map stays small.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one operation from `key`'s budget, or throws RATE_LIMITED saying in how many seconds one is back. */
  take(key: string): void {
    const now = this.now();
    const perMs = this.perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
    throw new GatewayError(ErrorCode.RATE_LIMITED, `this API key sent too many Adyen-calling operations; retry in ${retryAfterSeconds} s`, {
      retryAfterSeconds,
    });
  }
}
