import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  PaymentDocument,
  PaymentStatusChangedDocument,
  type PaymentStatusChangedSubscription,
  StartKakaoPayPaymentDocument,
  SubmitPaymentDetailsDocument,
} from "../generated/graphql.js";
import { ALPHA_KEY, chooseOutcome, eventually, TestGateway, tableRows } from "../support/gateway.js";
import { notificationBody, postWebhook, signedItem } from "../support/webhooks.js";

// Webhooks at once (webhook first), or held back a minute so the shopper's details win the race (details first).
let fast: TestGateway;
let slow: TestGateway;
beforeAll(async () => {
  [fast, slow] = await Promise.all([
    TestGateway.start({ SIMULATOR_WEBHOOK_DELAY_MS: "20", SIMULATOR_PENDING_DELAY_MS: "20" }),
    TestGateway.start(),
  ]);
});
afterAll(() => Promise.all([fast.close(), slow.close()]));

const AMOUNT = { value: 10_000, currency: "KRW" };
let counter = 0;

async function start(gw: TestGateway) {
  const reference = `rules-${++counter}`;
  const payment = (
    await gw.data(StartKakaoPayPaymentDocument, { input: { amount: AMOUNT, reference, returnUrl: "https://shop.example/r" } })
  ).startKakaoPayPayment;
  return { id: payment.id, reference, pspReference: payment.pspReference!, url: (payment.action as { url: string }).url };
}

const current = async (gw: TestGateway, id: string) => (await gw.data(PaymentDocument, { id })).payment!;
const submit = async (gw: TestGateway, id: string, redirectResult: string) =>
  (await gw.data(SubmitPaymentDetailsDocument, { input: { paymentId: id, details: { redirectResult } } })).submitPaymentDetails;
const detailsCalls = (gw: TestGateway) => gw.simulator.control.stats().requestsByPath["/v72/payments/details"] ?? 0;
const anomalies = (gw: TestGateway, kind: string) => gw.gateway.metrics.value("gateway_webhook_anomalies_total", { kind });

/** Every inbox item about this pspReference has been applied (or settled). */
async function webhooksApplied(gw: TestGateway, pspReference: string, count: number) {
  await eventually(async () => {
    const rows = (await tableRows(gw, "notification_inbox")).filter((r) => r.psp_reference === pspReference);
    expect(rows).toHaveLength(count);
    expect(rows.every((r) => r.applied_at !== null)).toBe(true);
  });
}

async function sendSigned(gw: TestGateway, fields: Parameters<typeof signedItem>[0]) {
  expect(await postWebhook(gw.url, notificationBody([signedItem(fields)]))).toEqual({ status: 200, text: "[accepted]" });
}

/** What the simulator's AUTHORISATION says for each shopper outcome (a pending one is authorised later). */
const OUTCOMES = [
  { outcome: "authorised", webhook: { success: true }, status: "AUTHORISED", nextStep: "SHOW_SUCCESS", resultCode: "Authorised" },
  {
    outcome: "refused",
    webhook: { success: false, reason: "Refused" },
    status: "REFUSED",
    nextStep: "ASK_DIFFERENT_METHOD",
    resultCode: "Refused",
  },
  {
    outcome: "cancelled",
    webhook: { success: false, reason: "Cancelled" },
    status: "CANCELLED",
    nextStep: "ASK_CONTINUE_OR_CHANGE_METHOD",
    resultCode: "Cancelled",
  },
  { outcome: "error", webhook: { success: false, reason: "Acquirer Error" }, status: "ERROR", nextStep: "SHOW_ERROR", resultCode: "Error" },
  { outcome: "pending", webhook: { success: true }, status: "AUTHORISED", nextStep: "SHOW_SUCCESS", resultCode: "Pending" },
] as const;

describe("the final status does not depend on whether the webhook or the shopper's details come first", () => {
  it.each(OUTCOMES)("$outcome, webhook first -> $status / $nextStep", async ({ outcome, status, nextStep, resultCode }) => {
    const payment = await start(fast);
    const { redirectResult } = await chooseOutcome(payment.url, outcome);
    await webhooksApplied(fast, payment.pspReference, 1);
    expect((await current(fast, payment.id)).status).not.toBe("ACTION_REQUIRED");

    const calls = detailsCalls(fast);
    const done = await submit(fast, payment.id, redirectResult);
    expect(done).toMatchObject({ status, nextStep, resultCode, action: null });
    expect(detailsCalls(fast)).toBe(calls + 1);
    expect(await current(fast, payment.id)).toEqual(done);

    // Sent once: a second submission returns the payment as it is, without calling Adyen.
    expect(await submit(fast, payment.id, redirectResult)).toEqual(done);
    expect(detailsCalls(fast)).toBe(calls + 1);
  });

  it.each(OUTCOMES)("$outcome, details first -> $status / $nextStep", async ({ outcome, webhook, status, nextStep, resultCode }) => {
    const payment = await start(slow);
    const { redirectResult } = await chooseOutcome(payment.url, outcome);
    await submit(slow, payment.id, redirectResult);
    // The AUTHORISATION the simulator sends for this outcome, arriving after the shopper's return.
    await sendSigned(slow, {
      eventCode: "AUTHORISATION",
      pspReference: payment.pspReference,
      merchantReference: payment.reference,
      amount: AMOUNT,
      ...webhook,
    });
    await webhooksApplied(slow, payment.pspReference, 1);

    const calls = detailsCalls(slow);
    expect(await current(slow, payment.id)).toMatchObject({ status, nextStep, resultCode, action: null });
    expect(await submit(slow, payment.id, redirectResult)).toMatchObject({ status, resultCode });
    expect(detailsCalls(slow)).toBe(calls);
  });

  it("records both changes when a cancelled payment is refined after the webhook, each published once", async () => {
    const payment = await start(fast);
    const seen: string[] = [];
    fast
      .ws(ALPHA_KEY)
      .subscribe<PaymentStatusChangedSubscription>(
        { query: print(PaymentStatusChangedDocument), variables: { paymentId: payment.id, afterVersion: 1 } },
        { next: (r) => r.data && seen.push(r.data.paymentStatusChanged.status), error: () => {}, complete: () => {} },
      );
    const { redirectResult } = await chooseOutcome(payment.url, "cancelled");
    await webhooksApplied(fast, payment.pspReference, 1);
    const done = await submit(fast, payment.id, redirectResult);
    expect(done.events.map((e) => [e.version, e.status, e.source, e.resultCode])).toEqual([
      [1, "ACTION_REQUIRED", "API", "RedirectShopper"],
      [2, "REFUSED", "WEBHOOK", null],
      [3, "CANCELLED", "REDIRECT", "Cancelled"],
    ]);
    await eventually(async () => expect(seen).toEqual(["REFUSED", "CANCELLED"]));
  });
});

describe("AUTHORISATION success=false after the payment was AUTHORISED", () => {
  it("refuses a payment AUTHORISED only by the shopper's return, publishes it, logs and counts the contradiction", async () => {
    const payment = await start(slow);
    const { redirectResult } = await chooseOutcome(payment.url, "authorised");
    expect((await submit(slow, payment.id, redirectResult)).status).toBe("AUTHORISED");
    const seen: string[] = [];
    slow
      .ws(ALPHA_KEY)
      .subscribe<PaymentStatusChangedSubscription>(
        { query: print(PaymentStatusChangedDocument), variables: { paymentId: payment.id, afterVersion: 2 } },
        { next: (r) => r.data && seen.push(r.data.paymentStatusChanged.status), error: () => {}, complete: () => {} },
      );
    const counted = await anomalies(slow, "refused_after_authorised");

    await sendSigned(slow, {
      eventCode: "AUTHORISATION",
      pspReference: payment.pspReference,
      merchantReference: payment.reference,
      amount: AMOUNT,
      success: false,
      reason: "Not enough balance",
    });
    await eventually(async () =>
      expect(await current(slow, payment.id)).toMatchObject({
        status: "REFUSED",
        nextStep: "ASK_DIFFERENT_METHOD",
        refusalReason: "Not enough balance",
        version: 3,
      }),
    );
    await eventually(async () => expect(seen).toEqual(["REFUSED"]));
    expect(await anomalies(slow, "refused_after_authorised")).toBe(counted + 1);
    expect(
      slow.logs().some((l) => l.level === "error" && l.pspReference === payment.pspReference && l.anomaly === "refused_after_authorised"),
    ).toBe(true);
  });

  it("keeps a payment that AUTHORISATION success=true authorised, stores the item, logs and counts the contradiction", async () => {
    const payment = await start(slow);
    const fields = { eventCode: "AUTHORISATION", pspReference: payment.pspReference, merchantReference: payment.reference, amount: AMOUNT };
    await sendSigned(slow, { ...fields, success: true });
    await eventually(async () => expect((await current(slow, payment.id)).status).toBe("AUTHORISED"));
    const counted = await anomalies(slow, "refused_after_authorised");

    await sendSigned(slow, { ...fields, success: false, reason: "Not enough balance" });
    await webhooksApplied(slow, payment.pspReference, 2);
    expect(await current(slow, payment.id)).toMatchObject({ status: "AUTHORISED", version: 2 });
    expect(await anomalies(slow, "refused_after_authorised")).toBe(counted + 1);
    expect(
      slow.logs().some((l) => l.level === "error" && l.pspReference === payment.pspReference && l.anomaly === "refused_after_authorised"),
    ).toBe(true);
  });
});

describe("an AUTHORISATION for another amount or currency", () => {
  it.each([
    ["1 KRW", { value: 1, currency: "KRW" }],
    ["10,000 USD", { value: 10_000, currency: "USD" }],
  ])("for %s is stored, never applied to a 10,000 KRW payment, logged and counted", async (_name, amount) => {
    const payment = await start(slow);
    const counted = await anomalies(slow, "amount_mismatch");
    await sendSigned(slow, {
      eventCode: "AUTHORISATION",
      pspReference: payment.pspReference,
      merchantReference: payment.reference,
      amount,
    });
    await webhooksApplied(slow, payment.pspReference, 1);
    expect(await current(slow, payment.id)).toMatchObject({ status: "ACTION_REQUIRED", version: 1 });
    expect(await anomalies(slow, "amount_mismatch")).toBe(counted + 1);
    expect(slow.logs().some((l) => l.level === "error" && l.pspReference === payment.pspReference && l.anomaly === "amount_mismatch")).toBe(
      true,
    );
  });
});
