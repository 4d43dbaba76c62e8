import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALPHA_KEY, BETA_KEY, TestGateway } from "../support/gateway.js";

/** Calls the gateway made to one Adyen Checkout path, as the simulator counted them. */
const adyenCalls = (gw: TestGateway, path: string) => gw.simulator.control.stats().requestsByPath[path] ?? 0;

async function post(gw: TestGateway, query: string, apiKey = ALPHA_KEY) {
  const response = await fetch(`${gw.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as {
    data?: Record<string, unknown> | null;
    errors?: Array<{ message: string; extensions: Record<string, unknown> }>;
  };
  return { status: response.status, headers: response.headers, ...body };
}

const methods = (value: number) => `paymentMethods(input: { amount: { value: ${value}, currency: "KRW" }, countryCode: "KR" }) { type }`;

describe("Adyen amplification", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterAll(() => gw.close());

  it("refuses an operation that names an Adyen-calling field more than once, without calling Adyen", async () => {
    const before = adyenCalls(gw, "/v72/paymentMethods");
    const aliased = Array.from({ length: 5 }, (_, i) => `m${i}: ${methods(1000 + i)}`).join(" ");
    const result = await post(gw, `{ ${aliased} }`);
    expect(result.data ?? null).toBeNull();
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0]?.extensions.code).toBe("BAD_USER_INPUT");
    expect(result.errors?.[0]?.message).toContain("paymentMethods");
    expect(adyenCalls(gw, "/v72/paymentMethods")).toBe(before);
  });

  it("counts fields reached through fragments too", async () => {
    const result = await post(
      gw,
      `{ ...A ... on Query { storedPaymentMethods(shopperReference: "s-1") { id } } } fragment A on Query { s: storedPaymentMethods(shopperReference: "s-2") { id } }`,
    );
    expect(result.errors?.[0]?.extensions.code).toBe("BAD_USER_INPUT");
    expect(result.errors?.[0]?.message).toContain("storedPaymentMethods");
  });

  it("answers a repeated paymentMethods input from one Adyen call", async () => {
    const before = adyenCalls(gw, "/v72/paymentMethods");
    for (let i = 0; i < 3; i++) {
      const result = await post(gw, `{ ${methods(4321)} }`, i === 1 ? BETA_KEY : ALPHA_KEY);
      expect(result.errors).toBeUndefined();
      expect(result.data?.paymentMethods).toContainEqual({ type: "kakaopay" });
    }
    expect(adyenCalls(gw, "/v72/paymentMethods")).toBe(before + 1);
    // Another input is another Adyen call.
    await post(gw, `{ ${methods(4322)} }`);
    expect(adyenCalls(gw, "/v72/paymentMethods")).toBe(before + 2);
  });

  it("makes one Adyen lookup for concurrent storedPaymentMethods of one shopper", async () => {
    const before = adyenCalls(gw, "/v72/storedPaymentMethods");
    const results = await Promise.all(
      Array.from({ length: 5 }, () => post(gw, `{ storedPaymentMethods(shopperReference: "coalesced-shopper") { id } }`)),
    );
    for (const result of results) expect(result.data).toEqual({ storedPaymentMethods: [] });
    expect(adyenCalls(gw, "/v72/storedPaymentMethods")).toBe(before + 1);
  });
});

describe("ADYEN_RATE_LIMIT_PER_MINUTE", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await TestGateway.start({ ADYEN_RATE_LIMIT_PER_MINUTE: "3" });
  });
  afterAll(() => gw.close());

  it("answers RATE_LIMITED with retryAfterSeconds once a key has sent its Adyen-calling operations", async () => {
    for (let i = 0; i < 3; i++) expect((await post(gw, `{ ${methods(2000 + i)} }`)).errors).toBeUndefined();
    const before = adyenCalls(gw, "/v72/paymentMethods");
    const limited = await post(gw, `{ ${methods(2100)} }`);
    expect(limited.status).toBe(429);
    expect(limited.errors?.[0]?.extensions.code).toBe("RATE_LIMITED");
    const retryAfter = limited.errors?.[0]?.extensions.retryAfterSeconds;
    expect(Number.isInteger(retryAfter) && (retryAfter as number) > 0).toBe(true);
    expect(limited.headers.get("retry-after")).toBe(String(retryAfter));
    expect(adyenCalls(gw, "/v72/paymentMethods")).toBe(before);

    // Another key has its own budget, and operations that do not call Adyen are not limited.
    expect((await post(gw, `{ ${methods(2200)} }`, BETA_KEY)).errors).toBeUndefined();
    expect((await post(gw, `{ payment(id: "nope") { id } }`)).data).toEqual({ payment: null });
  });
});
