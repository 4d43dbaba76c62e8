import { describe, expect, it } from "vitest";
import { classifyAdyenFailure } from "../../src/adyen/failures.js";

describe("classifyAdyenFailure", () => {
  it.each([
    // No HTTP answer: our timeout or a network error.
    [0, "TIMEOUT", "unavailable"],
    [0, "NETWORK", "unavailable"],
    // Adyen still processing the first request with this Idempotency-Key.
    [422, "704", "unavailable"],
    // Adyen's transient answers.
    [429, "000", "unavailable"],
    [429, undefined, "unavailable"],
    [408, undefined, "unavailable"],
    [500, "000", "unavailable"],
    [502, undefined, "unavailable"],
    [503, "000", "unavailable"],
    // Adyen saying no to this request.
    [400, "702", "rejected"],
    [401, "000", "rejected"],
    [403, "901", "rejected"],
    [404, "000", "rejected"],
    [422, "000", "rejected"],
    [422, "800", "rejected"],
    [422, "707", "rejected"],
    [422, undefined, "rejected"],
  ] as const)("HTTP %s with errorCode %s is %s", (status, errorCode, kind) => {
    expect(classifyAdyenFailure(status, errorCode)).toBe(kind);
  });
});
