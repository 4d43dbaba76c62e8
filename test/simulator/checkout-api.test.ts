import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkoutApiSpec } from "../../src/simulator/spec.js";
import { API_KEY, MERCHANT_ACCOUNT, redirectPaymentRequest, startTestSimulator, type TestSimulator } from "./support.js";

let sim: TestSimulator;

beforeAll(async () => {
  sim = await startTestSimulator();
});

afterAll(async () => {
  await sim.close();
});

describe("authentication and merchant account", () => {
  it("answers 401 with Adyen's security error without a valid X-API-Key", async () => {
    for (const headers of [{ "x-api-key": "wrong-key" }, { "x-api-key": "" }]) {
      const answer = await sim.api("POST", "/v72/payments", { body: redirectPaymentRequest(), headers });
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({
        status: 401,
        errorCode: "000",
        message: "HTTP Status Response - Unauthorized",
        errorType: "security",
      });
    }
  });

  it("answers 403 for another merchant account", async () => {
    const answer = await sim.api("POST", "/v72/payments", { body: redirectPaymentRequest({ merchantAccount: "SomeoneElse" }) });
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ status: 403, errorCode: "901", errorType: "security" });
  });
});

describe("spec validation of requests", () => {
  it("rejects malformed JSON with 400", async () => {
    const answer = await sim.api("POST", "/v72/payments", { rawBody: "{not json" });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ status: 400, errorCode: "702", errorType: "validation" });
  });

  it("rejects a missing required field with Adyen's message", async () => {
    const { reference: _omitted, ...withoutReference } = redirectPaymentRequest();
    const answer = await sim.api("POST", "/v72/payments", { body: withoutReference });
    expect(answer.status).toBe(422);
    expect(answer.body).toEqual({
      status: 422,
      errorCode: "130",
      message: "Required field 'reference' is not provided.",
      errorType: "validation",
    });

    const { returnUrl: _alsoOmitted, ...withoutReturnUrl } = redirectPaymentRequest();
    const noReturnUrl = await sim.api("POST", "/v72/payments", { body: withoutReturnUrl });
    expect(noReturnUrl.status).toBe(422);
    expect(noReturnUrl.body.message).toBe("Required field 'returnUrl' is not provided.");
  });

  it("rejects a wrongly typed field", async () => {
    const answer = await sim.api("POST", "/v72/payments", { body: redirectPaymentRequest({ amount: { value: 12.5, currency: "KRW" } }) });
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ errorType: "validation", message: "Field 'amount.value' must be integer" });
  });

  it("rejects a returnUrl longer than 1024 characters", async () => {
    const returnUrl = `https://shop.example/${"r".repeat(1024)}`;
    const answer = await sim.api("POST", "/v72/payments", { body: redirectPaymentRequest({ returnUrl }) });
    expect(answer.status).toBe(422);
    expect(answer.body.message).toContain("returnUrl");
  });

  it("rejects unknown fields as Adyen does, naming the structure", async () => {
    const answer = await sim.api("POST", "/v72/payments", { body: redirectPaymentRequest({ giftWrap: true }) });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      status: 400,
      errorCode: "702",
      message: "Structure of PaymentRequest contains the following unknown fields: [giftWrap]",
      errorType: "validation",
    });
  });

  it("rejects a payment method no schema of the oneOf accepts", async () => {
    const answer = await sim.api("POST", "/v72/payments", {
      body: redirectPaymentRequest({ paymentMethod: { type: "kakaopay", pin: "1234" } }),
    });
    expect(answer.status).toBe(422);
    expect(answer.body.message).toContain("paymentMethod");
  });

  it("validates the query of GET /storedPaymentMethods too", async () => {
    const answer = await sim.api(
      "GET",
      `/v72/storedPaymentMethods?merchantAccount=${MERCHANT_ACCOUNT}&shopperReference=a&shopperReference=b`,
    );
    expect(answer.status).toBe(422);
  });

  it("answers 404 for unknown paths and 501 for Checkout operations it does not simulate", async () => {
    expect((await sim.api("POST", "/v72/nothing-here", { body: {} })).status).toBe(404);
    expect((await sim.api("POST", "/v72/sessions", { body: {} })).status).toBe(501);
  });

  it("has validators that really reject what the spec forbids", () => {
    const payments = checkoutApiSpec().match("POST", "/payments")?.operation;
    expect(payments?.validateResponse(200, { resultCode: "Approved" })).toContain("resultCode");
    expect(payments?.validateResponse(200, { resultCode: "Authorised", pspReference: "X", surprise: 1 })).toBeDefined();
    expect(payments?.validateResponse(200, { resultCode: "Authorised", pspReference: "ABCDEFGH12345678" })).toBeUndefined();
    expect(payments?.validateResponse(422, { status: 422, errorCode: "000", message: "m", errorType: "validation" })).toBeUndefined();
  });
});

describe("POST /paymentMethods", () => {
  it.each([
    [{ countryCode: "KR", amount: { value: 12300, currency: "KRW" } }, ["kakaopay"]],
    [{}, ["kakaopay"]],
    [{ countryCode: "US", amount: { value: 1000, currency: "USD" } }, []],
    [{ countryCode: "KR", amount: { value: 1000, currency: "EUR" } }, []],
    [{ blockedPaymentMethods: ["kakaopay"] }, []],
  ])("offers KakaoPay only to KR/KRW shoppers (%j)", async (filters, expected) => {
    const answer = await sim.api("POST", "/v72/paymentMethods", { body: { merchantAccount: MERCHANT_ACCOUNT, ...filters } });
    expect(answer.status).toBe(200);
    expect(answer.body.paymentMethods.map((method: { type: string }) => method.type)).toEqual(expected);
    if (expected.length > 0) expect(answer.body.paymentMethods[0]).toEqual({ name: "KakaoPay", type: "kakaopay" });
  });
});

describe("POST /payments (redirect)", () => {
  it("answers RedirectShopper with a redirect action to the hosted page", async () => {
    const answer = await sim.api("POST", "/v72/payments", { body: redirectPaymentRequest({ reference: "order-redirect" }) });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      resultCode: "RedirectShopper",
      merchantReference: "order-redirect",
      action: { type: "redirect", paymentMethodType: "kakaopay", method: "GET" },
    });
    expect(answer.body.pspReference).toMatch(/^[A-Z0-9]{16}$/);
    expect(answer.body.action.url).toMatch(new RegExp(`^${sim.simulator.url}/hpp/kakaopay/[A-Za-z0-9_-]{32}$`));
  });

  it.each([
    ["a currency other than KRW", { amount: { value: 1000, currency: "USD" } }, "138"],
    ["a zero amount", { amount: { value: 0, currency: "KRW" } }, "137"],
    ["a negative amount", { amount: { value: -100, currency: "KRW" } }, "137"],
    ["a returnUrl that is not a URL", { returnUrl: "not a url" }, "000"],
    ["storePaymentMethod without shopperReference", { storePaymentMethod: true }, "000"],
    ["another payment method", { paymentMethod: { type: "paypal" } }, "905"],
  ])("rejects %s with 422", async (_case, overrides, errorCode) => {
    const before = sim.simulator.control.stats().paymentsCreated;
    const answer = await sim.api("POST", "/v72/payments", { body: redirectPaymentRequest(overrides) });
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ status: 422, errorCode, errorType: "validation" });
    expect(sim.simulator.control.stats().paymentsCreated).toBe(before);
  });
});

describe("POST /payments/details", () => {
  it("rejects an unknown or forged redirectResult", async () => {
    const answer = await sim.api("POST", "/v72/payments/details", { body: { details: { redirectResult: "forged-value" } } });
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ status: 422, errorType: "validation" });
  });

  it("rejects details without a redirectResult", async () => {
    const answer = await sim.api("POST", "/v72/payments/details", { body: { details: { payload: "x" } } });
    expect(answer.status).toBe(422);
  });
});

describe("Idempotency-Key", () => {
  it("answers a repeated key with the first answer and creates one payment", async () => {
    const before = sim.simulator.control.stats().paymentsCreated;
    const headers = { "idempotency-key": "2c1c7f1e-0d4b-4b8e-9f60-6f2c1a0b9d11" };
    const body = redirectPaymentRequest({ reference: "order-idem" });
    const first = await sim.api("POST", "/v72/payments", { body, headers });
    const second = await sim.api("POST", "/v72/payments", { body, headers });
    expect(first.status).toBe(200);
    expect(second.status).toBe(first.status);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get("idempotency-key")).toBe(headers["idempotency-key"]);
    expect(sim.simulator.control.stats().paymentsCreated).toBe(before + 1);
  });

  it("treats the same body with keys in another order as the same request", async () => {
    const headers = { "idempotency-key": "key-order-insensitive" };
    const first = await sim.api("POST", "/v72/payments", { body: redirectPaymentRequest({ reference: "order-keys" }), headers });
    const { paymentMethod, ...rest } = redirectPaymentRequest({ reference: "order-keys" });
    const second = await sim.api("POST", "/v72/payments", { body: { paymentMethod, ...rest }, headers });
    expect(second.body).toEqual(first.body);
  });

  it("rejects the same key with a different body", async () => {
    const headers = { "idempotency-key": "key-reused-for-other-body" };
    await sim.api("POST", "/v72/payments", { body: redirectPaymentRequest({ reference: "order-a" }), headers });
    const before = sim.simulator.control.stats().paymentsCreated;
    const answer = await sim.api("POST", "/v72/payments", { body: redirectPaymentRequest({ reference: "order-b" }), headers });
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ errorCode: "707", errorType: "validation" });
    expect(sim.simulator.control.stats().paymentsCreated).toBe(before);
  });

  it("replays a rejection too, but never lets an invalid request use up a key", async () => {
    const headers = { "idempotency-key": "key-first-invalid" };
    const invalid = await sim.api("POST", "/v72/payments", { body: redirectPaymentRequest({ reference: undefined }), headers });
    expect(invalid.status).toBe(422);
    const valid = await sim.api("POST", "/v72/payments", { body: redirectPaymentRequest(), headers });
    expect(valid.status).toBe(200);

    const refusedHeaders = { "idempotency-key": "key-business-rejection" };
    const usd = redirectPaymentRequest({ amount: { value: 1, currency: "USD" } });
    const first = await sim.api("POST", "/v72/payments", { body: usd, headers: refusedHeaders });
    const again = await sim.api("POST", "/v72/payments", { body: usd, headers: refusedHeaders });
    expect(again).toMatchObject({ status: first.status, body: first.body });
  });

  it("scopes keys by path and rejects keys longer than 64 characters", async () => {
    const headers = { "idempotency-key": "key-shared-by-two-paths" };
    const payment = await sim.api("POST", "/v72/payments", { body: redirectPaymentRequest(), headers });
    const methods = await sim.api("POST", "/v72/paymentMethods", { body: { merchantAccount: MERCHANT_ACCOUNT }, headers });
    expect(payment.body.resultCode).toBe("RedirectShopper");
    expect(methods.body.paymentMethods).toBeDefined();

    const tooLong = await sim.api("POST", "/v72/payments", {
      body: redirectPaymentRequest(),
      headers: { "idempotency-key": "k".repeat(65) },
    });
    expect(tooLong.status).toBe(422);
  });

  it("keeps the API key out of the log", () => {
    expect(sim.logs.some((line) => line.includes(API_KEY))).toBe(false);
  });
});
