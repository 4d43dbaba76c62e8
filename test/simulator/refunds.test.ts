import { afterEach, describe, expect, it } from "vitest";
import {
  MERCHANT_ACCOUNT,
  chooseOutcome,
  expectAuthentic,
  redirectPaymentRequest,
  startTestSimulator,
  type TestSimulator,
} from "./support.js";

let sim: TestSimulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(): Promise<TestSimulator> {
  sim = await startTestSimulator();
  return sim;
}

/** A 12,300 KRW payment the shopper authorised, with its AUTHORISATION delivered; returns its pspReference. */
async function authorisedPayment(test: TestSimulator): Promise<string> {
  const answer = await test.api("POST", "/v72/payments", { body: redirectPaymentRequest({ reference: "order-r" }) });
  expect((await chooseOutcome(answer.body.action.url, "authorised")).status).toBe(303);
  await test.simulator.control.idle();
  test.receiver.received.length = 0;
  return answer.body.pspReference;
}

function refund(test: TestSimulator, pspReference: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return test.api("POST", `/v72/payments/${pspReference}/refunds`, {
    body: { merchantAccount: MERCHANT_ACCOUNT, amount: { value: 1000, currency: "KRW" }, ...body },
    headers,
  });
}

/** The refund webhooks received so far, as [eventCode, success] pairs, after checking each is signed and valid. */
function refundWebhooks(test: TestSimulator): Array<[string, string, string | undefined]> {
  return test.receiver.received.map((webhook) => {
    expectAuthentic(webhook);
    return [webhook.item.eventCode, webhook.item.success, webhook.item.reason];
  });
}

describe("POST /payments/{paymentPspReference}/refunds", () => {
  it("answers 201 received with the refund's own pspReference, then REFUND success=true about it", async () => {
    const test = await start();
    const payment = await authorisedPayment(test);
    const answer = await refund(test, payment, { reference: "order-r-R1", amount: { value: 2300, currency: "KRW" } });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      merchantAccount: MERCHANT_ACCOUNT,
      paymentPspReference: payment,
      reference: "order-r-R1",
      amount: { value: 2300, currency: "KRW" },
      status: "received",
    });
    expect(answer.body.pspReference).toMatch(/^[A-Z0-9]{16}$/);
    expect(answer.body.pspReference).not.toBe(payment);

    await test.simulator.control.idle();
    expect(refundWebhooks(test)).toEqual([["REFUND", "true", undefined]]);
    const item = test.receiver.received[0]!.item;
    expect(item).toMatchObject({
      pspReference: answer.body.pspReference,
      originalReference: payment,
      merchantReference: "order-r-R1",
      amount: { value: 2300, currency: "KRW" },
    });
    expect(test.simulator.control.stats().refundsCreated).toBe(1);
  });

  it("refuses an unknown payment, an unpaid one, another currency and more than is left, with Adyen's error body", async () => {
    const test = await start();
    expect((await refund(test, "NOSUCHPAYMENT000", {})).body).toMatchObject({ status: 422, errorCode: "167" });

    const unpaid = await test.api("POST", "/v72/payments", { body: redirectPaymentRequest() });
    expect((await refund(test, unpaid.body.pspReference, {})).body).toMatchObject({ status: 422, errorCode: "167" });

    const payment = await authorisedPayment(test);
    expect((await refund(test, payment, { amount: { value: 100, currency: "USD" } })).body).toMatchObject({ status: 422 });
    expect((await refund(test, payment, { amount: { value: 10000, currency: "KRW" } })).status).toBe(201);
    const tooMuch = await refund(test, payment, { amount: { value: 2301, currency: "KRW" } });
    expect(tooMuch.body).toMatchObject({ status: 422, errorCode: "137", errorType: "validation" });
    expect((await refund(test, payment, { amount: { value: 2300, currency: "KRW" } })).status).toBe(201);
    expect(test.simulator.control.stats().refundsCreated).toBe(2);
  });

  it("answers a repeated Idempotency-Key with the first answer and makes no second refund", async () => {
    const test = await start();
    const payment = await authorisedPayment(test);
    const first = await refund(test, payment, { reference: "R-idem" }, { "idempotency-key": "refund-key-1" });
    const again = await refund(test, payment, { reference: "R-idem" }, { "idempotency-key": "refund-key-1" });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(test.simulator.control.stats().refundsCreated).toBe(1);
  });

  it("FAIL… is declined by REFUND success=false, and its amount is refundable again", async () => {
    const test = await start();
    const payment = await authorisedPayment(test);
    expect((await refund(test, payment, { reference: "FAIL-1", amount: { value: 12300, currency: "KRW" } })).status).toBe(201);
    await test.simulator.control.idle();
    expect(refundWebhooks(test)).toEqual([["REFUND", "false", "Insufficient balance on payment"]]);
    expect((await refund(test, payment, { amount: { value: 12300, currency: "KRW" } })).status).toBe(201);
  });

  it("LATEFAIL… succeeds, then REFUND_FAILED follows (with success=true, as Adyen sends it)", async () => {
    const test = await start();
    const payment = await authorisedPayment(test);
    expect((await refund(test, payment, { reference: "LATEFAIL-1" })).status).toBe(201);
    await test.simulator.control.idle();
    const codes = refundWebhooks(test).map(([code, success]) => [code, success]);
    expect(codes).toEqual([
      ["REFUND", "true"],
      ["REFUND_FAILED", "true"],
    ]);
  });

  it("sends the follow-up only after the REFUND was delivered, however slowly the receiver answers", async () => {
    const test = await start();
    const payment = await authorisedPayment(test);
    // The receiver takes far longer than the simulator's webhook delay (5 ms here) to acknowledge the REFUND.
    test.receiver.answerWith(() => ({ status: 200, body: "[accepted]", delayMs: 150 }));
    test.receiver.timeline.length = 0;
    expect((await refund(test, payment, { reference: "REVERSE-slow" })).status).toBe(201);
    await test.simulator.control.idle();
    expect(test.receiver.timeline).toEqual([
      "arrived REFUND",
      "answered REFUND",
      "arrived REFUNDED_REVERSED",
      "answered REFUNDED_REVERSED",
    ]);
  });

  it("REVERSE… succeeds, then REFUNDED_REVERSED follows", async () => {
    const test = await start();
    const payment = await authorisedPayment(test);
    expect((await refund(test, payment, { reference: "REVERSE-1" })).status).toBe(201);
    await test.simulator.control.idle();
    expect(refundWebhooks(test).map(([code, success]) => [code, success])).toEqual([
      ["REFUND", "true"],
      ["REFUNDED_REVERSED", "true"],
    ]);
  });

  it("SLOW… is processed but its first answer never comes; the same Idempotency-Key then gets it", async () => {
    const test = await start();
    const payment = await authorisedPayment(test);
    const url = `${test.simulator.url}/v72/payments/${payment}/refunds`;
    const request = {
      method: "POST",
      headers: { "x-api-key": "test-api-key-0123456789", "content-type": "application/json", "idempotency-key": "slow-key" },
      body: JSON.stringify({ merchantAccount: MERCHANT_ACCOUNT, amount: { value: 1000, currency: "KRW" }, reference: "SLOW-1" }),
    };
    await expect(fetch(url, { ...request, signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(test.simulator.control.stats().refundsCreated).toBe(1);
    const retry = await refund(test, payment, { reference: "SLOW-1" }, { "idempotency-key": "slow-key" });
    expect(retry.status).toBe(201);
    expect(retry.body.status).toBe("received");
    expect(test.simulator.control.stats().refundsCreated).toBe(1);
  });

  it("DOWN… is answered 500 without being processed, twice, then goes through", async () => {
    const test = await start();
    const payment = await authorisedPayment(test);
    const key = { "idempotency-key": "down-key" };
    expect((await refund(test, payment, { reference: "DOWN-1" }, key)).status).toBe(500);
    expect((await refund(test, payment, { reference: "DOWN-1" }, key)).status).toBe(500);
    expect(test.simulator.control.stats().refundsCreated).toBe(0);
    expect((await refund(test, payment, { reference: "DOWN-1" }, key)).status).toBe(201);
    expect(test.simulator.control.stats().refundsCreated).toBe(1);
    expect(test.simulator.control.payments()[0]?.refunds).toEqual([
      expect.objectContaining({ reference: "DOWN-1", amount: { value: 1000, currency: "KRW" }, counts: true }),
    ]);
  });
});
