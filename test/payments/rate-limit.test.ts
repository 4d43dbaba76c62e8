import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/payments/errors.js";
import { RateLimiter } from "../../src/payments/rate-limit.js";

function refusal(take: () => void): GatewayError {
  try {
    take();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error("not refused");
}

describe("RateLimiter", () => {
  it("allows a minute's budget at once, then one operation per 60/perMinute seconds, per key", () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(2, () => now);
    limiter.take("shop");
    limiter.take("shop");
    const refused = refusal(() => limiter.take("shop"));
    expect(refused.code).toBe("RATE_LIMITED");
    expect(refused.details.retryAfterSeconds).toBe(30);
    limiter.take("other");

    now += 10_000;
    expect(refusal(() => limiter.take("shop")).details.retryAfterSeconds).toBe(20);
    now += 20_000;
    limiter.take("shop");
    expect(refusal(() => limiter.take("shop")).details.retryAfterSeconds).toBe(30);
  });
});
