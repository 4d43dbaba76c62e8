import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ChargeStoredPaymentMethodDocument,
  DisableStoredPaymentMethodDocument,
  PaymentDocument,
  StartKakaoPayPaymentDocument,
  StoredPaymentMethodsDocument,
  SubmitPaymentDetailsDocument,
} from "../generated/graphql.js";
import { ALPHA_KEY, BETA_KEY, chooseOutcome, eventually, TestGateway } from "../support/gateway.js";

let gw: TestGateway;
beforeAll(async () => {
  gw = await TestGateway.start({ SIMULATOR_WEBHOOK_DELAY_MS: "20", ADYEN_TIMEOUT_MS: "800" });
});
afterEach(() => gw.simulator.control.reset());
afterAll(() => gw.close());

const calls = (path: string) => gw.simulator.control.stats().requestsByPath[path] ?? 0;
let counter = 0;
const startInput = (key: string) => ({
  amount: { value: 3000, currency: "KRW" },
  reference: `idem-${++counter}`,
  returnUrl: "https://shop.example/r",
  idempotencyKey: key,
});

describe("startKakaoPayPayment", () => {
  it("makes one Adyen payment for concurrent requests with the same key", async () => {
    const input = startInput("concurrent-start");
    const before = calls("/v72/payments");
    const results = await Promise.all(Array.from({ length: 8 }, () => gw.data(StartKakaoPayPaymentDocument, { input })));
    expect(new Set(results.map((r) => r.startKakaoPayPayment.id)).size).toBe(1);
    expect(calls("/v72/payments") - before).toBe(1);
    expect(gw.simulator.control.payments().filter((p) => p.reference === input.reference)).toHaveLength(1);
  });

  it("answers PROVIDER_UNAVAILABLE within its timeout when Adyen hangs, and a retry completes with one Adyen payment", async () => {
    const input = startInput("hang-then-retry");
    gw.simulator.control.setFaults({ mode: "timeout", count: 1 });
    const failed = await gw.request(StartKakaoPayPaymentDocument, { input });
    expect(failed.errors?.[0]?.extensions?.code).toBe("PROVIDER_UNAVAILABLE");
    // Nothing for the app to see yet: the payment is written but Adyen's answer is not.
    const retried = (await gw.data(StartKakaoPayPaymentDocument, { input })).startKakaoPayPayment;
    expect(retried).toMatchObject({ status: "ACTION_REQUIRED", version: 1 });
    expect(gw.simulator.control.payments().filter((p) => p.reference === input.reference)).toHaveLength(1);
  });

  it("waits for a slow Adyen that answers within the timeout", async () => {
    gw.simulator.control.setFaults({ mode: "slow", slowMs: 300, count: 1 });
    const payment = (await gw.data(StartKakaoPayPaymentDocument, { input: startInput("slow") })).startKakaoPayPayment;
    expect(payment.status).toBe("ACTION_REQUIRED");
  });

  it("keeps a payment consistent when Adyen fails: invisible until it answers, never half-written", async () => {
    const input = startInput("five-hundred");
    gw.simulator.control.setFaults({ mode: "5xx", count: 1 });
    const failed = await gw.request(StartKakaoPayPaymentDocument, { input });
    expect(failed.errors?.[0]?.extensions?.code).toBe("PROVIDER_UNAVAILABLE");
    expect(gw.simulator.control.payments().filter((p) => p.reference === input.reference)).toHaveLength(0);
    const retried = (await gw.data(StartKakaoPayPaymentDocument, { input })).startKakaoPayPayment;
    expect(retried.events).toHaveLength(1);
    expect(gw.simulator.control.payments().filter((p) => p.reference === input.reference)).toHaveLength(1);
  });
});

describe("submitPaymentDetails", () => {
  it("returns the first result for a repeated key with no second Adyen call, and conflicts on other details", async () => {
    const payment = (await gw.data(StartKakaoPayPaymentDocument, { input: startInput("details-parent") })).startKakaoPayPayment;
    const { redirectResult } = await chooseOutcome((payment.action as { url: string }).url, "pending");
    const input = { paymentId: payment.id, details: { redirectResult }, idempotencyKey: "details-1" };
    const before = calls("/v72/payments/details");
    const results = await Promise.all(Array.from({ length: 5 }, () => gw.data(SubmitPaymentDetailsDocument, { input })));
    expect(results.every((r) => r.submitPaymentDetails.status === "PENDING")).toBe(true);
    const again = (await gw.data(SubmitPaymentDetailsDocument, { input })).submitPaymentDetails;
    expect(again.version).toBe(2);
    expect(calls("/v72/payments/details") - before).toBe(1);
    const conflict = await gw.request(SubmitPaymentDetailsDocument, { input: { ...input, details: { redirectResult: "other" } } });
    expect(conflict.errors?.[0]?.extensions).toMatchObject({ code: "IDEMPOTENCY_CONFLICT", field: "input.idempotencyKey" });
  });

  it("treats details with the same keys in another order as the same input (canonical JSON)", async () => {
    const payment = (await gw.data(StartKakaoPayPaymentDocument, { input: startInput("details-order-parent") })).startKakaoPayPayment;
    const { redirectResult } = await chooseOutcome((payment.action as { url: string }).url, "pending");
    const first = await gw.data(SubmitPaymentDetailsDocument, {
      input: { paymentId: payment.id, details: { redirectResult, payload: "p-1" }, idempotencyKey: "details-order" },
    });
    const before = calls("/v72/payments/details");
    const reordered = await gw.request(SubmitPaymentDetailsDocument, {
      input: { paymentId: payment.id, details: { payload: "p-1", redirectResult }, idempotencyKey: "details-order" },
    });
    expect(reordered.errors).toBeUndefined();
    expect(reordered.data?.submitPaymentDetails).toMatchObject({ id: payment.id, version: first.submitPaymentDetails.version });
    expect(calls("/v72/payments/details") - before).toBe(0);
  });
});

/** A token for the shopper, from a first payment the shopper authorised on the hosted page. */
async function storeToken(shopperReference: string): Promise<string> {
  const first = (
    await gw.data(StartKakaoPayPaymentDocument, {
      input: { ...startInput(`store-${shopperReference}`), shopperReference, storePaymentMethod: true },
    })
  ).startKakaoPayPayment;
  await chooseOutcome((first.action as { url: string }).url, "authorised");
  return eventually(async () => {
    const [method] = (await gw.data(StoredPaymentMethodsDocument, { shopperReference })).storedPaymentMethods;
    expect(method).toBeDefined();
    return method!.id;
  });
}

describe("chargeStoredPaymentMethod", () => {
  it("makes one Adyen charge for concurrent requests with the same key, per API key", async () => {
    const token = await storeToken("idem-shopper");
    const input = {
      storedPaymentMethodId: token,
      shopperReference: "idem-shopper",
      amount: { value: 4900, currency: "KRW" },
      reference: "monthly-1",
      recurringProcessingModel: "SUBSCRIPTION" as const,
      idempotencyKey: "charge-1",
    };
    const before = calls("/v72/payments");
    const results = await Promise.all(Array.from({ length: 6 }, () => gw.data(ChargeStoredPaymentMethodDocument, { input })));
    expect(new Set(results.map((r) => r.chargeStoredPaymentMethod.id)).size).toBe(1);
    expect(calls("/v72/payments") - before).toBe(1);
    const conflict = await gw.request(ChargeStoredPaymentMethodDocument, { input: { ...input, amount: { value: 1, currency: "KRW" } } });
    expect(conflict.errors?.[0]?.extensions?.code).toBe("IDEMPOTENCY_CONFLICT");
    // Another API key's identical key is its own: and it does not own the token.
    const other = await gw.request(ChargeStoredPaymentMethodDocument, { input }, BETA_KEY);
    expect(other.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const { payment } = await gw.data(PaymentDocument, { id: results[0]!.chargeStoredPaymentMethod.id }, ALPHA_KEY);
    expect(payment?.status).toBe("AUTHORISED");
  });

  it("answers a repeat with the payment the first request made, even after the token was disabled", async () => {
    const first = (
      await gw.data(StartKakaoPayPaymentDocument, {
        input: { ...startInput("store-then-disable"), shopperReference: "idem-disabler", storePaymentMethod: true },
      })
    ).startKakaoPayPayment;
    await chooseOutcome((first.action as { url: string }).url, "authorised");
    const token = await eventually(async () => {
      const [method] = (await gw.data(StoredPaymentMethodsDocument, { shopperReference: "idem-disabler" })).storedPaymentMethods;
      expect(method).toBeDefined();
      return method!.id;
    });
    const input = {
      storedPaymentMethodId: token,
      shopperReference: "idem-disabler",
      amount: { value: 5500, currency: "KRW" },
      reference: "monthly-before-disable",
      recurringProcessingModel: "SUBSCRIPTION" as const,
      idempotencyKey: "charge-then-disable",
    };
    const charged = (await gw.data(ChargeStoredPaymentMethodDocument, { input })).chargeStoredPaymentMethod;
    await gw.data(DisableStoredPaymentMethodDocument, { input: { storedPaymentMethodId: token, shopperReference: "idem-disabler" } });
    const before = calls("/v72/payments");
    const repeat = await gw.request(ChargeStoredPaymentMethodDocument, { input });
    expect(repeat.errors).toBeUndefined();
    expect(repeat.data?.chargeStoredPaymentMethod).toMatchObject({ id: charged.id, status: charged.status });
    expect(calls("/v72/payments") - before).toBe(0);
    // A new charge (another key) is still refused before Adyen is called.
    const fresh = await gw.request(ChargeStoredPaymentMethodDocument, { input: { ...input, idempotencyKey: "after-disable" } });
    expect(fresh.errors?.[0]?.extensions?.code).toBe("INVALID_STATE");
  });

  it("answers PROVIDER_UNAVAILABLE, not PROVIDER_REJECTED, while Adyen still processes the key, and retries end in one charge", async () => {
    const token = await storeToken("slow-shopper");
    const input = {
      storedPaymentMethodId: token,
      shopperReference: "slow-shopper",
      amount: { value: 4900, currency: "KRW" },
      reference: "monthly-slow",
      recurringProcessingModel: "SUBSCRIPTION" as const,
      idempotencyKey: "charge-slow",
    };
    // Adyen takes far longer than our timeout (800 ms here) to answer the first charge, and its webhook is late, so
    // only Adyen's answer can settle the charge.
    gw.simulator.control.setWebhookBehaviour({ dropEventCodes: ["AUTHORISATION"] });
    gw.simulator.control.setFaults({ mode: "slow", slowMs: 5000, count: 1, paths: ["/payments"] });
    const first = await gw.request(ChargeStoredPaymentMethodDocument, { input });
    expect(first.errors?.[0]?.extensions?.code).toBe("PROVIDER_UNAVAILABLE");
    // The app retries at once, as told: Adyen answers 422/704 (still in progress), which is no rejection.
    const atOnce = await gw.request(ChargeStoredPaymentMethodDocument, { input });
    expect(atOnce.errors?.[0]?.extensions?.code).toBe("PROVIDER_UNAVAILABLE");
    // And keeps retrying with the same key until Adyen has finished.
    const codes: unknown[] = [];
    let charged: string | undefined;
    for (let attempt = 0; attempt < 200 && charged === undefined; attempt += 1) {
      const retry = await gw.request(ChargeStoredPaymentMethodDocument, { input });
      if (retry.data?.chargeStoredPaymentMethod) charged = retry.data.chargeStoredPaymentMethod.id;
      else codes.push(retry.errors?.[0]?.extensions?.code);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(new Set(codes)).toEqual(new Set(codes.length > 0 ? ["PROVIDER_UNAVAILABLE"] : []));
    expect(charged).toBe(first.errors?.[0]?.extensions?.paymentId);
    expect(gw.simulator.control.payments().filter((p) => p.reference === input.reference)).toHaveLength(1);
    const { payment } = await gw.data(PaymentDocument, { id: charged! });
    expect(payment?.status).toBe("AUTHORISED");
  });
});

describe("PROVIDER_UNAVAILABLE says what a retry of this request does", () => {
  it("without an idempotencyKey: the outcome is unknown, and the payment id it names finds Adyen's result", async () => {
    const token = await storeToken("no-key-shopper");
    const input = {
      storedPaymentMethodId: token,
      shopperReference: "no-key-shopper",
      amount: { value: 4900, currency: "KRW" },
      reference: "monthly-no-key",
      recurringProcessingModel: "SUBSCRIPTION" as const,
    };
    gw.simulator.control.setFaults({ mode: "timeout", count: 1, paths: ["/payments"] });
    const failed = await gw.request(ChargeStoredPaymentMethodDocument, { input });
    const error = failed.errors?.[0];
    expect(error?.extensions).toEqual({ code: "PROVIDER_UNAVAILABLE", paymentId: expect.stringMatching(/^pay_/) });
    expect(error?.message).toMatch(/^Adyen did not answer within 800 ms\. /);
    expect(error?.message).not.toMatch(/is safe/);
    expect(error?.message).toMatch(/outcome is unknown/);
    expect(error?.message).toMatch(/idempotencyKey/);
    // Adyen did take the charge; querying the named payment (instead of charging again) shows it.
    const paymentId = error?.extensions?.paymentId as string;
    const payment = await eventually(async () => {
      const { payment } = await gw.data(PaymentDocument, { id: paymentId });
      expect(payment?.status).toBe("AUTHORISED");
      return payment!;
    });
    expect(payment.reference).toBe(input.reference);
    expect(gw.simulator.control.payments().filter((p) => p.reference === input.reference)).toHaveLength(1);
  });

  it("with an idempotencyKey: retrying with it is safe, and completes the payment it names", async () => {
    const input = startInput("named-on-failure");
    gw.simulator.control.setFaults({ mode: "5xx", count: 1, paths: ["/payments"] });
    const failed = await gw.request(StartKakaoPayPaymentDocument, { input });
    const error = failed.errors?.[0];
    expect(error?.extensions).toEqual({ code: "PROVIDER_UNAVAILABLE", paymentId: expect.stringMatching(/^pay_/) });
    expect(error?.message).toMatch(/same idempotencyKey .*safe/);
    const retried = (await gw.data(StartKakaoPayPaymentDocument, { input })).startKakaoPayPayment;
    expect(retried.id).toBe(error?.extensions?.paymentId);
  });

  it("for details: retrying with the same details is safe, with or without a key", async () => {
    const payment = (await gw.data(StartKakaoPayPaymentDocument, { input: startInput("details-unavailable") })).startKakaoPayPayment;
    const { redirectResult } = await chooseOutcome((payment.action as { url: string }).url, "pending");
    gw.simulator.control.setFaults({ mode: "5xx", count: 1, paths: ["/payments/details"] });
    const input = { paymentId: payment.id, details: { redirectResult } };
    const failed = await gw.request(SubmitPaymentDetailsDocument, { input });
    const error = failed.errors?.[0];
    expect(error?.extensions).toEqual({ code: "PROVIDER_UNAVAILABLE", paymentId: payment.id });
    expect(error?.message).toMatch(/same details .*safe/);
    expect((await gw.data(SubmitPaymentDetailsDocument, { input })).submitPaymentDetails.status).toBe("PENDING");
  });
});
