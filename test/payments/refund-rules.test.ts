import fc from "fast-check";
import { newPayment } from "../support/stores.js";
import { describe, expect, it } from "vitest";
import { memoryLogger } from "../support/logger.js";
import type { PaymentId, PspReference, RefundId } from "../../src/payments/ids.js";
import type { Notification } from "../../src/payments/notification.js";
import {
  decideRefundTransition,
  planRefund,
  type Refund,
  type RefundSignal,
  type RefundStatus,
  refundableValue,
  refundedValue,
} from "../../src/payments/refund.js";
import { PaymentWebhooks } from "../../src/payments/webhooks.js";
import { openStores, type Stores } from "../../src/store/index.js";

const PSP = "RFNDPSP000000001" as PspReference;
const webhook = (
  eventCode: "REFUND" | "REFUND_FAILED" | "REFUNDED_REVERSED",
  success: boolean,
): Extract<RefundSignal, { kind: "WEBHOOK" }> => ({
  kind: "WEBHOOK",
  eventCode,
  success,
  reason: success ? null : "declined",
  pspReference: PSP,
});

describe("decideRefundTransition: the refund rules of docs/contract.md, as a table written out by hand", () => {
  // [status now, signal, status after (null: no change)]
  const table: Array<[RefundStatus, string, RefundSignal, RefundStatus | null]> = [
    ["PENDING", "Adyen accepted", { kind: "ACCEPTED", pspReference: PSP }, null],
    ["PENDING", "Adyen rejected", { kind: "REJECTED", reason: "Invalid amount" }, "FAILED"],
    ["PENDING", "REFUND true", webhook("REFUND", true), "SUCCEEDED"],
    ["PENDING", "REFUND false", webhook("REFUND", false), "FAILED"],
    ["PENDING", "REFUND_FAILED", webhook("REFUND_FAILED", true), "FAILED"],
    ["PENDING", "REFUNDED_REVERSED", webhook("REFUNDED_REVERSED", true), "REVERSED"],
    ["SUCCEEDED", "Adyen accepted", { kind: "ACCEPTED", pspReference: PSP }, null],
    ["SUCCEEDED", "Adyen rejected", { kind: "REJECTED", reason: "late" }, null],
    ["SUCCEEDED", "REFUND true", webhook("REFUND", true), null],
    ["SUCCEEDED", "REFUND false", webhook("REFUND", false), null],
    ["SUCCEEDED", "REFUND_FAILED", webhook("REFUND_FAILED", true), "FAILED"],
    ["SUCCEEDED", "REFUNDED_REVERSED", webhook("REFUNDED_REVERSED", true), "REVERSED"],
    ["FAILED", "REFUND true", webhook("REFUND", true), null],
    ["FAILED", "REFUND_FAILED", webhook("REFUND_FAILED", true), null],
    ["FAILED", "REFUNDED_REVERSED", webhook("REFUNDED_REVERSED", true), null],
    ["FAILED", "Adyen rejected", { kind: "REJECTED", reason: "again" }, null],
    ["REVERSED", "REFUND true", webhook("REFUND", true), null],
    ["REVERSED", "REFUND_FAILED", webhook("REFUND_FAILED", true), null],
    ["REVERSED", "REFUND false", webhook("REFUND", false), null],
  ];
  it.each(table)("%s + %s -> %s", (status, _label, signal, after) => {
    expect(decideRefundTransition(status, signal)?.status ?? null).toBe(after);
  });

  it("keeps Adyen's reason on a failure, and gives one when Adyen gave none", () => {
    expect(decideRefundTransition("PENDING", { kind: "REJECTED", reason: "Invalid amount specified" })?.reason).toBe(
      "Invalid amount specified",
    );
    expect(decideRefundTransition("PENDING", { ...webhook("REFUND", false), reason: null })?.reason).toBeTruthy();
    expect(decideRefundTransition("SUCCEEDED", { ...webhook("REFUND_FAILED", true), reason: null })?.reason).toBeTruthy();
  });
});

function refund(status: RefundStatus, value: number): Refund {
  const now = new Date();
  return {
    id: `rfd_${status}_${value}` as RefundId,
    paymentId: "pay_x" as PaymentId,
    amount: { value, currency: "KRW" },
    reference: "r",
    status,
    reason: null,
    pspReference: null,
    source: "API",
    nextSendAt: null,
    sendAttempts: 0,
    createdAt: now,
    updatedAt: now,
  };
}

describe("planRefund and the payment's amounts", () => {
  const payment = { status: "AUTHORISED" as const, amount: { value: 10_000, currency: "KRW" }, reference: "order-9" };
  const refunds = [refund("SUCCEEDED", 2000), refund("PENDING", 1000), refund("FAILED", 5000), refund("REVERSED", 500)];

  it("counts SUCCEEDED as refunded, and SUCCEEDED plus PENDING as reserved", () => {
    expect(refundedValue(refunds)).toBe(2000);
    expect(refundableValue(payment, refunds)).toBe(7000);
    expect(refundableValue({ ...payment, status: "PENDING" }, refunds)).toBe(0);
  });

  it("defaults to the whole refundable amount and to <reference>-R<n>", () => {
    expect(planRefund(payment, refunds, { amount: null, reference: null })).toEqual({
      amount: { value: 7000, currency: "KRW" },
      reference: "order-9-R5",
    });
    // Adyen takes references of at most 80 characters: the payment's is cut to make room.
    const long = planRefund({ ...payment, reference: "x".repeat(80) }, [], { amount: null, reference: null });
    expect(long.reference).toHaveLength(80);
    expect(long.reference.endsWith("-R1")).toBe(true);
  });

  it("refuses more than is left, another currency, nothing, and a payment that is not AUTHORISED", () => {
    const code = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        const { code, details } = error as { code?: string; details?: { field?: string } };
        return `${code}${details?.field ?? ""}`;
      }
      return "accepted";
    };
    expect(code(() => planRefund(payment, refunds, { amount: { value: 7001, currency: "KRW" }, reference: null }))).toBe(
      "BAD_USER_INPUTinput.amount",
    );
    expect(code(() => planRefund(payment, refunds, { amount: { value: 100, currency: "USD" }, reference: null }))).toBe(
      "BAD_USER_INPUTinput.amount",
    );
    expect(code(() => planRefund(payment, [refund("SUCCEEDED", 10_000)], { amount: null, reference: null }))).toBe(
      "BAD_USER_INPUTinput.amount",
    );
    expect(code(() => planRefund({ ...payment, status: "REFUSED" }, [], { amount: null, reference: null }))).toMatch(/^INVALID_STATE/);
    expect(code(() => planRefund(payment, refunds, { amount: { value: 7000, currency: "KRW" }, reference: null }))).toBe("accepted");
  });
});

/** One thing that can happen to the refunds of one AUTHORISED 1000 KRW payment. */
type Step =
  | { kind: "request"; value: number }
  | { kind: "accept"; refund: number }
  | { kind: "webhook"; refund: number; eventCode: "REFUND" | "REFUND_FAILED" | "REFUNDED_REVERSED"; success: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.integer({ min: 1, max: 600 }).map((value) => ({ kind: "request" as const, value })),
  fc.nat({ max: 5 }).map((refund) => ({ kind: "accept" as const, refund })),
  fc
    .record({
      refund: fc.nat({ max: 5 }),
      eventCode: fc.constantFrom("REFUND" as const, "REFUND" as const, "REFUND_FAILED" as const, "REFUNDED_REVERSED" as const),
      success: fc.boolean(),
    })
    .map((w) => ({ kind: "webhook" as const, ...w })),
);

type ModelStatus = "PENDING" | "SUCCEEDED" | "FAILED" | "REVERSED";

/** The refund rules of docs/contract.md, written independently of src/. */
function modelAfter(status: ModelStatus, eventCode: string, success: boolean): ModelStatus {
  if (status === "FAILED" || status === "REVERSED") return status;
  if (eventCode === "REFUND") {
    if (status !== "PENDING") return status;
    return success ? "SUCCEEDED" : "FAILED";
  }
  if (eventCode === "REFUND_FAILED") return "FAILED";
  return "REVERSED";
}

async function authorisedPayment(stores: Stores): Promise<PaymentId> {
  const id = "pay_refund_property" as PaymentId;
  await stores.payments.createPayment(
    newPayment({
      id,
      reference: "order-rp",
      returnUrl: null,
      shopperReference: "s-1",
      storedPaymentMethodId: "TOKEN" as never,
      recurringProcessingModel: "SUBSCRIPTION",
    }),
    null,
  );
  await stores.payments.recordSignal(id, { source: "API", resultCode: "Authorised" }, { pspReference: "PAYPSP0000000001" as PspReference });
  return id;
}

describe("refunds, for any interleaving of requests, Adyen's answers and refund webhooks (delivered any number of times)", () => {
  it("never reserve more than was paid, and each refund ends where its last valid signal says, through the real store and inbox", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 14 }), async (steps) => {
        const stores = await openStores("file::memory:");
        const webhooks = new PaymentWebhooks({
          store: stores.payments,
          tokens: stores.storedPaymentMethods,
          refunds: stores.refunds,
          inbox: stores.inbox,
          events: { publish: () => {} },
          merchantAccount: "Merchant",
          telemetry: { webhookAnomaly: () => {}, webhookItem: () => {} },
          logger: memoryLogger([]),
        });
        try {
          const paymentId = await authorisedPayment(stores);
          const model: Array<{ value: number; status: ModelStatus }> = [];
          const ids: RefundId[] = [];
          const delivered = new Set<string>();
          for (const s of steps) {
            if (s.kind === "request") {
              const left = 1000 - model.reduce((sum, r) => (r.status === "PENDING" || r.status === "SUCCEEDED" ? sum + r.value : sum), 0);
              const created = await stores.refunds
                .createRefund(
                  paymentId,
                  (payment, refunds) =>
                    planRefund(payment, refunds, { amount: { value: s.value, currency: "KRW" }, reference: `r-${ids.length}` }),
                  { id: `rfd_${ids.length}` as RefundId, nextSendAt: new Date() },
                  null,
                )
                .then(
                  () => true,
                  () => false,
                );
              expect(created).toBe(s.value <= left);
              if (created) {
                ids.push(`rfd_${ids.length}` as RefundId);
                model.push({ value: s.value, status: "PENDING" });
              }
            } else if (s.refund < ids.length) {
              const id = ids[s.refund]!;
              const pspReference = `RFNDPSP${String(s.refund).padStart(9, "0")}` as PspReference;
              if (s.kind === "accept") {
                await stores.refunds.recordRefundSignal(id, { kind: "ACCEPTED", pspReference });
              } else {
                const item: Notification = {
                  eventCode: s.eventCode,
                  success: s.success,
                  pspReference,
                  originalReference: "PAYPSP0000000001",
                  merchantReference: `r-${s.refund}`,
                  merchantAccountCode: "Merchant",
                  amount: { value: model[s.refund]!.value, currency: "KRW" },
                  reason: s.success ? null : "declined",
                  additionalData: {},
                  raw: JSON.stringify({ amount: { value: model[s.refund]!.value, currency: "KRW" } }),
                };
                await webhooks.apply(await webhooks.receive([item]));
                const identity = `${pspReference}:${s.eventCode}:${s.success}`;
                if (!delivered.has(identity)) {
                  delivered.add(identity);
                  model[s.refund]!.status = modelAfter(model[s.refund]!.status, s.eventCode, s.success);
                }
              }
            }
            const stored = await stores.refunds.listRefunds(paymentId);
            const reserved = stored.reduce(
              (sum, r) => (r.status === "PENDING" || r.status === "SUCCEEDED" ? sum + r.amount.value : sum),
              0,
            );
            expect(reserved).toBeLessThanOrEqual(1000);
          }
          const stored = await stores.refunds.listRefunds(paymentId);
          expect(stored.map((r) => [r.amount.value, r.status])).toEqual(model.map((r) => [r.value, r.status]));
        } finally {
          await stores.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});
