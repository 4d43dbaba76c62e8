import { afterEach, describe, expect, it } from "vitest";
import { newRefundId, type PspReference } from "../../src/payments/ids.js";
import type { Payment } from "../../src/payments/payment.js";
import type { Stores } from "../../src/store/index.js";
import type { Refund } from "../../src/payments/refund.js";
import { BACKENDS, claim, closeAll, redirected } from "./backends.js";

afterEach(closeAll);

/** Reserves `value` of what is left, or refuses: the rule createRefund runs inside its transaction. */
function reserve(value: number) {
  return (payment: Payment, refunds: readonly Refund[]) => {
    const reserved = refunds.filter((r) => r.status !== "FAILED").reduce((sum, r) => sum + r.amount.value, 0);
    if (reserved + value > payment.amount.value) throw new Error("over the payment's amount");
    return { amount: { value, currency: payment.amount.currency }, reference: `refund-${value}-${reserved}` };
  };
}

function create(stores: Stores, paymentId: Payment["id"], value: number, key: string | null = null) {
  return stores.refunds.createRefund(
    paymentId,
    reserve(value),
    { id: newRefundId(), nextSendAt: new Date() },
    key ? claim(key, "h", "refundPayment") : null,
  );
}

describe.each(BACKENDS)("RefundStore on $name", (backend) => {
  it("never reserves more than the amount when two instances race for the rest", async () => {
    const { stores, again } = await backend.open();
    const other = await again();
    const payment = await redirected(stores.payments, 10_000);
    const results = await Promise.allSettled([create(stores, payment.id, 7_000), create(other, payment.id, 7_000)]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.filter((r) => r.status === "rejected")).toHaveLength(1);
    expect(await stores.refunds.listRefunds(payment.id)).toHaveLength(1);
    // One change, one event: version 1 was the redirect, 2 the refund.
    expect((await stores.payments.listEvents(payment.id, 0)).map((e) => [e.version, e.refundStatus])).toEqual([
      [1, null],
      [2, "PENDING"],
    ]);
  });

  it("makes one refund for one idempotency key raced by two instances", async () => {
    const { stores, again } = await backend.open();
    const other = await again();
    const payment = await redirected(stores.payments, 10_000);
    const results = await Promise.all([create(stores, payment.id, 1_000, "refund-key"), create(other, payment.id, 1_000, "refund-key")]);
    expect(results.map((r) => r.kind).sort()).toEqual(["created", "existing"]);
    const ids = results.map((r) => (r.kind === "conflict" ? null : r.refund.id));
    expect(ids[0]).toBe(ids[1]);
    expect(await stores.refunds.listRefunds(payment.id)).toHaveLength(1);
  });

  it("records Adyen's acceptance without a status change, and the REFUND webhook as one change", async () => {
    const { stores } = await backend.open();
    const payment = await redirected(stores.payments, 10_000);
    const created = await create(stores, payment.id, 1_000);
    if (created.kind !== "created") throw new Error(created.kind);
    const accepted = await stores.refunds.recordRefundSignal(created.refund.id, {
      kind: "ACCEPTED",
      pspReference: "REFUNDPSP0000001" as PspReference,
    });
    expect(accepted).toMatchObject({ change: null, refund: { status: "PENDING", pspReference: "REFUNDPSP0000001", nextSendAt: null } });
    const target = { pspReference: "REFUNDPSP0000001", paymentPspReference: payment.pspReference, merchantReference: "x" };
    expect((await stores.refunds.findRefundFor(target))?.id).toBe(created.refund.id);
    const done = await stores.refunds.recordRefundSignal(created.refund.id, {
      kind: "WEBHOOK",
      eventCode: "REFUND",
      success: true,
      reason: null,
      pspReference: "REFUNDPSP0000001" as PspReference,
    });
    expect(done.change?.event).toMatchObject({ version: 3, refundStatus: "SUCCEEDED", status: "ACTION_REQUIRED" });
    // Read back with every field as written, the refund's events among the payment's.
    const second = await create(stores, payment.id, 2_000);
    if (second.kind !== "created") throw new Error(second.kind);
    expect(await stores.refunds.listRefunds(payment.id)).toEqual([done.refund, second.refund]);
    expect((await stores.payments.listEvents(payment.id, 2))[0]).toEqual(done.change?.event);
  });

  it("hands each due refund to one re-sender, here or in another instance, until its lease ends", async () => {
    const { stores, again } = await backend.open();
    const other = await again();
    const payment = await redirected(stores.payments, 10_000);
    for (const value of [1_000, 2_000, 3_000]) await create(stores, payment.id, value);
    const now = new Date(Date.now() + 1_000);
    const lease = new Date(now.getTime() + 60_000);
    const [mine, theirs] = await Promise.all([stores.refunds.takeDueRefunds(now, 10, lease), other.refunds.takeDueRefunds(now, 10, lease)]);
    const taken = [...mine!, ...theirs!].map((r) => r.id);
    expect(taken).toHaveLength(3);
    expect(new Set(taken).size).toBe(3);
    expect(await stores.refunds.takeDueRefunds(new Date(now.getTime() + 59_000), 10, lease)).toEqual([]);
    expect(await stores.refunds.takeDueRefunds(new Date(now.getTime() + 61_000), 10, lease)).toHaveLength(3);
  });
});
