import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  PaymentDocument,
  PaymentMethodsDocument,
  StartKakaoPayPaymentDocument,
  type StartKakaoPayPaymentInput,
  SubmitPaymentDetailsDocument,
} from "../generated/graphql.js";
import { ALPHA_KEY, BETA_KEY, chooseOutcome, TestGateway } from "../support/gateway.js";

let gw: TestGateway;
beforeAll(async () => {
  gw = await TestGateway.start();
});
afterAll(() => gw.close());

let counter = 0;
const input = (overrides: Partial<StartKakaoPayPaymentInput> = {}): StartKakaoPayPaymentInput => ({
  amount: { value: 12300, currency: "KRW" },
  reference: `order-${++counter}`,
  returnUrl: "https://shop.example/checkout/return?order=1",
  channel: "WEB",
  ...overrides,
});

async function start(overrides: Partial<StartKakaoPayPaymentInput> = {}, apiKey = ALPHA_KEY) {
  return (await gw.data(StartKakaoPayPaymentDocument, { input: input(overrides) }, apiKey)).startKakaoPayPayment;
}

describe("paymentMethods", () => {
  it("offers KakaoPay with its name and Adyen's logo", async () => {
    const { paymentMethods } = await gw.data(PaymentMethodsDocument, {
      input: { amount: { value: 12300, currency: "KRW" }, countryCode: "KR", channel: "ANDROID", shopperLocale: "ko-KR" },
    });
    const kakaopay = paymentMethods.find((m) => m.type === "kakaopay");
    expect(kakaopay).toEqual({
      type: "kakaopay",
      name: "KakaoPay",
      logoUrl: "https://checkoutshopper-test.adyen.com/checkoutshopper/images/logos/kakaopay.svg",
    });
  });
});

describe("the five shopper outcomes, through the hosted page and submitPaymentDetails", () => {
  const OUTCOMES = [
    { outcome: "authorised", status: "AUTHORISED", nextStep: "SHOW_SUCCESS", resultCode: "Authorised", refusal: false },
    { outcome: "refused", status: "REFUSED", nextStep: "ASK_DIFFERENT_METHOD", resultCode: "Refused", refusal: true },
    { outcome: "cancelled", status: "CANCELLED", nextStep: "ASK_CONTINUE_OR_CHANGE_METHOD", resultCode: "Cancelled", refusal: null },
    { outcome: "error", status: "ERROR", nextStep: "SHOW_ERROR", resultCode: "Error", refusal: true },
    { outcome: "pending", status: "PENDING", nextStep: "SHOW_ORDER_RECEIVED", resultCode: "Pending", refusal: false },
  ] as const;

  it.each(OUTCOMES)("$outcome -> $status / $nextStep", async ({ outcome, status, nextStep, resultCode, refusal }) => {
    const started = await start();
    expect(started).toMatchObject({
      status: "ACTION_REQUIRED",
      nextStep: "COMPLETE_REDIRECT",
      resultCode: "RedirectShopper",
      version: 1,
      paymentMethodType: "kakaopay",
      amount: { value: 12300, currency: "KRW" },
    });
    const action = started.action as { type: string; url: string; method: string; paymentMethodType: string };
    expect(action).toMatchObject({ type: "redirect", method: "GET", paymentMethodType: "kakaopay" });
    expect(action.url.startsWith(gw.simulator.url)).toBe(true);

    const { location, redirectResult } = await chooseOutcome(action.url, outcome);
    expect(location.startsWith("https://shop.example/checkout/return?order=1&redirectResult=")).toBe(true);

    const { submitPaymentDetails: done } = await gw.data(SubmitPaymentDetailsDocument, {
      input: { paymentId: started.id, details: { redirectResult } },
    });
    expect(done).toMatchObject({ id: started.id, status, nextStep, resultCode, version: 2, action: null });
    expect(done.pspReference).toMatch(/^[A-Z0-9]{16}$/);
    if (started.pspReference) expect(done.pspReference).toBe(started.pspReference);
    if (refusal === true) expect(done.refusalReason).toBeTruthy();
    if (refusal === false) expect(done.refusalReason).toBeNull();
    expect(done.events.map((e) => [e.version, e.status, e.source, e.resultCode])).toEqual([
      [1, "ACTION_REQUIRED", "API", "RedirectShopper"],
      [2, status, "REDIRECT", resultCode],
    ]);

    const { payment } = await gw.data(PaymentDocument, { id: started.id });
    expect(payment).toEqual(done);
  });

  it("returns a final payment unchanged, without asking Adyen again", async () => {
    const started = await start();
    const { redirectResult } = await chooseOutcome((started.action as { url: string }).url, "authorised");
    const details = { input: { paymentId: started.id, details: { redirectResult } } };
    const first = (await gw.data(SubmitPaymentDetailsDocument, details)).submitPaymentDetails;
    const calls = gw.simulator.control.stats().requestsByPath["/v72/payments/details"];
    const again = (await gw.data(SubmitPaymentDetailsDocument, details)).submitPaymentDetails;
    expect(again).toEqual(first);
    expect(gw.simulator.control.stats().requestsByPath["/v72/payments/details"]).toBe(calls);
  });

  it("keeps an app-scheme returnUrl intact through the hosted page", async () => {
    const started = await start({ returnUrl: "myapp://checkout/done?order=7" });
    const { location } = await chooseOutcome((started.action as { url: string }).url, "authorised");
    expect(location).toMatch(/^myapp:\/\/checkout\/done\?order=7&redirectResult=[^&]+$/);
  });
});

describe("input errors: BAD_USER_INPUT naming the field, and nothing written", () => {
  const long = (n: number) => "x".repeat(n);
  const CASES: Array<[string, Partial<StartKakaoPayPaymentInput>, string]> = [
    ["zero amount", { amount: { value: 0, currency: "KRW" } }, "input.amount.value"],
    ["negative amount", { amount: { value: -100, currency: "KRW" } }, "input.amount.value"],
    ["another currency", { amount: { value: 1000, currency: "USD" } }, "input.amount.currency"],
    ["empty reference", { reference: "" }, "input.reference"],
    ["81-character reference", { reference: long(81) }, "input.reference"],
    ["returnUrl over 1024 characters", { returnUrl: `https://shop.example/${long(1010)}` }, "input.returnUrl"],
    ["returnUrl of another origin", { returnUrl: "https://evil.example/steal" }, "input.returnUrl"],
    ["javascript: returnUrl", { returnUrl: "javascript:alert(1)" }, "input.returnUrl"],
    ["data: returnUrl", { returnUrl: "data:text/html,hi" }, "input.returnUrl"],
    ["app scheme not on the allowlist", { returnUrl: "otherapp://done" }, "input.returnUrl"],
    ["storePaymentMethod without shopperReference", { storePaymentMethod: true }, "input.shopperReference"],
    ["country other than KR", { countryCode: "JP" }, "input.countryCode"],
  ];

  it.each(CASES)("%s", async (_name, overrides, field) => {
    const before = gw.simulator.control.stats().paymentsCreated;
    const result = await gw.request(StartKakaoPayPaymentDocument, { input: input(overrides) });
    expect(result.data).toBeNull();
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field });
    expect(gw.simulator.control.stats().paymentsCreated).toBe(before);
  });

  it("accepts a returnUrl of exactly 1024 characters", async () => {
    const base = "https://shop.example/r?x=";
    const started = await start({ returnUrl: base + "y".repeat(1024 - base.length) });
    expect(started.status).toBe("ACTION_REQUIRED");
  });

  const DETAILS: Array<[string, unknown, string]> = [
    ["a string", "redirectResult", "input.details"],
    ["an array", ["x"], "input.details"],
    ["an empty object", {}, "input.details"],
    ["an unknown key", { notAdyen: "x" }, "input.details.notAdyen"],
    ["a non-string value", { redirectResult: 42 }, "input.details.redirectResult"],
    ["a huge value", { redirectResult: "x".repeat(9000) }, "input.details.redirectResult"],
    ["a __proto__ key", JSON.parse('{"__proto__": {"polluted": true}}'), "input.details.__proto__"],
  ];

  it.each(DETAILS)("details as %s", async (_name, details, field) => {
    const started = await start();
    const result = await gw.request(SubmitPaymentDetailsDocument, { input: { paymentId: started.id, details } });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field });
    expect((await gw.data(PaymentDocument, { id: started.id })).payment?.version).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("authentication and ownership", () => {
  it("answers UNAUTHENTICATED without a key or with an unknown one", async () => {
    for (const key of [null, "not-a-real-key-0123456789"]) {
      const result = await gw.request(StartKakaoPayPaymentDocument, { input: input() }, key);
      expect(result.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
      expect(JSON.stringify(result)).not.toContain("not-a-real-key");
    }
  });

  it("hides a payment from every key but its owner", async () => {
    const started = await start({}, ALPHA_KEY);
    expect((await gw.data(PaymentDocument, { id: started.id }, BETA_KEY)).payment).toBeNull();
    const { redirectResult } = await chooseOutcome((started.action as { url: string }).url, "authorised");
    const result = await gw.request(
      SubmitPaymentDetailsDocument,
      { input: { paymentId: started.id, details: { redirectResult } } },
      BETA_KEY,
    );
    expect(result.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect((await gw.data(PaymentDocument, { id: started.id }, ALPHA_KEY)).payment?.status).toBe("ACTION_REQUIRED");
  });

  it("answers NOT_FOUND for an id that does not exist", async () => {
    const result = await gw.request(SubmitPaymentDetailsDocument, {
      input: { paymentId: "pay_doesnotexist", details: { redirectResult: "x" } },
    });
    expect(result.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
  });
});

describe("Adyen's failures", () => {
  it("maps a 4xx to PROVIDER_REJECTED with Adyen's errorCode and message", async () => {
    const started = await start();
    const result = await gw.request(SubmitPaymentDetailsDocument, {
      input: { paymentId: started.id, details: { redirectResult: "forged-redirect-result" } },
    });
    expect(result.errors?.[0]?.extensions).toEqual({ code: "PROVIDER_REJECTED", providerErrorCode: "000" });
    // What the simulator, like Adyen, says about this request.
    expect(result.errors?.[0]?.message).toBe("Invalid redirectResult");
    expect((await gw.data(PaymentDocument, { id: started.id })).payment?.status).toBe("ACTION_REQUIRED");
  });

  it.each(["5xx", "timeout", "reset"] as const)("maps %s to PROVIDER_UNAVAILABLE, and a retry completes the payment", async (mode) => {
    gw.simulator.control.setFaults({ mode, count: 1 });
    try {
      const payment = input({ idempotencyKey: `retry-${mode}` });
      const failed = await gw.request(StartKakaoPayPaymentDocument, { input: payment });
      expect(failed.errors?.[0]?.extensions?.code).toBe("PROVIDER_UNAVAILABLE");
      const retried = (await gw.data(StartKakaoPayPaymentDocument, { input: payment })).startKakaoPayPayment;
      expect(retried.status).toBe("ACTION_REQUIRED");
      expect(gw.simulator.control.payments().filter((p) => p.reference === payment.reference)).toHaveLength(1);
    } finally {
      gw.simulator.control.reset();
    }
  });
});

describe("idempotencyKey", () => {
  it("returns the first payment for the same key and input, and conflicts on a different input", async () => {
    const payment = input({ idempotencyKey: "idem-1" });
    const first = (await gw.data(StartKakaoPayPaymentDocument, { input: payment })).startKakaoPayPayment;
    const created = gw.simulator.control.stats().paymentsCreated;
    const second = (await gw.data(StartKakaoPayPaymentDocument, { input: payment })).startKakaoPayPayment;
    expect(second.id).toBe(first.id);
    expect(gw.simulator.control.stats().paymentsCreated).toBe(created);
    const conflict = await gw.request(StartKakaoPayPaymentDocument, { input: { ...payment, amount: { value: 1, currency: "KRW" } } });
    expect(conflict.errors?.[0]?.extensions).toMatchObject({ code: "IDEMPOTENCY_CONFLICT", field: "input.idempotencyKey" });
  });

  it("scopes keys to the API key", async () => {
    const payment = input({ idempotencyKey: "idem-shared" });
    const alpha = (await gw.data(StartKakaoPayPaymentDocument, { input: payment }, ALPHA_KEY)).startKakaoPayPayment;
    const beta = (await gw.data(StartKakaoPayPaymentDocument, { input: payment }, BETA_KEY)).startKakaoPayPayment;
    expect(beta.id).not.toBe(alpha.id);
  });
});

describe("HTTP surface", () => {
  it("serves Apollo Sandbox to a browser, with an example operation", async () => {
    const response = await fetch(`${gw.url}/graphql`, { headers: { accept: "text/html" } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain("embeddable-sandbox");
    expect(html).toContain("startKakaoPayPayment");
  });

  it("answers /healthz and /readyz", async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
  });
});
