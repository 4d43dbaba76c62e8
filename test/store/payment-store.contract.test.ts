import { afterEach, describe, expect, it } from "vitest";
import type { PaymentId } from "../../src/payments/ids.js";
import { BACKENDS, claim, closeAll, draft, item, newPayment, redirected } from "./backends.js";

afterEach(closeAll);

describe.each(BACKENDS)("PaymentStore on $name", (backend) => {
  it("writes a new payment with no status at version 0, and finds it by id", async () => {
    const { stores } = await backend.open();
    const payment = await newPayment(stores.payments, 4_200);
    const stored = await stores.payments.getPayment(payment.id);
    expect(stored).toMatchObject({ id: payment.id, status: null, version: 0, amount: { value: 4_200, currency: "KRW" } });
    // The row it answers with is the row it stored, field for field (dates as dates).
    expect(payment).toEqual(stored);
  });

  it("keeps amounts beyond 32 bits exact", async () => {
    const { stores } = await backend.open();
    const payment = await newPayment(stores.payments, 9_007_199_254_740_991);
    expect((await stores.payments.getPayment(payment.id))?.amount.value).toBe(9_007_199_254_740_991);
  });

  it("gives two instances racing one idempotency key one payment; another input is a conflict", async () => {
    const { stores, again } = await backend.open();
    const other = await again();
    const results = await Promise.all([
      stores.payments.createPayment(draft(), claim("race-key")),
      other.payments.createPayment(draft(), claim("race-key")),
      stores.payments.createPayment(draft(), claim("race-key")),
    ]);
    expect(results.map((r) => r.kind).sort()).toEqual(["created", "existing", "existing"]);
    const ids = new Set(results.map((r) => (r.kind === "conflict" ? null : r.payment.id)));
    expect(ids.size).toBe(1);
    expect((await stores.payments.createPayment(draft(), claim("race-key", "hash-2"))).kind).toBe("conflict");
    expect(await other.payments.findIdempotencyKey(claim("race-key").owner, "race-key")).toMatchObject({ completed: false });
  });

  it("claims a key on an existing payment once: the racers see it in progress, then completed", async () => {
    const { stores, again } = await backend.open();
    const other = await again();
    const payment = await newPayment(stores.payments);
    const key = claim("details-key", "h", "submitPaymentDetails");
    const states = await Promise.all([
      stores.payments.claimIdempotencyKey(key, payment.id),
      other.payments.claimIdempotencyKey(key, payment.id),
    ]);
    expect(states.sort()).toEqual(["claimed", "in_progress"]);
    await stores.payments.completeIdempotencyKey(key);
    expect(await other.payments.claimIdempotencyKey(key, payment.id)).toBe("completed");
    expect(await other.payments.claimIdempotencyKey({ ...key, requestHash: "other" }, payment.id)).toBe("conflict");
  });

  it("records a signal as one change: status, version, event and facts together", async () => {
    const { stores } = await backend.open();
    const payment = await newPayment(stores.payments);
    const recorded = await stores.payments.recordSignal(
      payment.id,
      { source: "API", resultCode: "RedirectShopper" },
      { pspReference: "PSP0000000000001" as never, action: { url: "https://pay.example" } },
    );
    expect(recorded.change?.event).toMatchObject({ version: 1, status: "ACTION_REQUIRED", previousStatus: null, source: "API" });
    expect(await stores.payments.getPaymentByPspReference("PSP0000000000001")).toMatchObject({
      status: "ACTION_REQUIRED",
      version: 1,
      action: { url: "https://pay.example" },
    });
    expect((await stores.payments.listEvents(payment.id, 0)).map((e) => e.version)).toEqual([1]);
  });

  it("reads a payment and its events back with every field as written", async () => {
    const { stores } = await backend.open();
    const created = await stores.payments.createPayment(
      {
        ...draft(),
        shopperLocale: "ko-KR",
        channel: "IOS",
        shopperReference: "shopper-1",
        storePaymentMethod: true,
        recurringProcessingModel: "UNSCHEDULED_CARD_ON_FILE",
      },
      null,
    );
    if (created.kind !== "created") throw new Error(created.kind);
    const redirect = await stores.payments.recordSignal(
      created.payment.id,
      { source: "API", resultCode: "RedirectShopper" },
      { pspReference: "PSP0000000000077" as never, action: { type: "redirect", url: "https://pay.example", data: { n: 1 } } },
    );
    const authorised = await stores.payments.recordSignal(
      created.payment.id,
      { source: "WEBHOOK", eventCode: "AUTHORISATION", success: true, amount: created.payment.amount },
      {},
    );
    expect(authorised.payment).toMatchObject({ status: "AUTHORISED", authorisedByWebhook: true, storePaymentMethod: true });
    expect(await stores.payments.getPayment(created.payment.id)).toEqual(authorised.payment);
    expect(await stores.payments.listEvents(created.payment.id, 0)).toEqual([redirect.change?.event, authorised.change?.event]);
    expect(await stores.payments.listEvents(created.payment.id, 1)).toEqual([authorised.change?.event]);
  });

  it("applies one webhook item once when two instances race it", async () => {
    const { stores, again } = await backend.open();
    const other = await again();
    const payment = await redirected(stores.payments);
    const id = (await stores.inbox.save([item(payment)]))[0]!.id;
    const signal = { source: "WEBHOOK", eventCode: "AUTHORISATION", success: true, amount: payment.amount } as const;
    const results = await Promise.all([
      stores.payments.recordSignal(payment.id, signal, { pspReference: payment.pspReference as never }, { notificationId: id }),
      other.payments.recordSignal(payment.id, signal, { pspReference: payment.pspReference as never }, { notificationId: id }),
    ]);
    expect(results.filter((r) => r.change !== null)).toHaveLength(1);
    expect(await stores.inbox.unapplied(payment.pspReference)).toEqual([]);
    expect((await stores.payments.listEvents(payment.id, 0)).map((e) => [e.version, e.status])).toEqual([
      [1, "ACTION_REQUIRED"],
      [2, "AUTHORISED"],
    ]);
  });

  it("stores a webhook item and applies it in one write when a payment has its pspReference; a redelivery changes nothing", async () => {
    const { stores } = await backend.open();
    const payment = await redirected(stores.payments);
    const received = await stores.payments.receiveSignal(item(payment), authorisation(payment));
    expect(received).toMatchObject({ duplicate: false, recorded: { payment: { status: "AUTHORISED", version: 2 }, anomaly: null } });
    expect(received.recorded?.change?.event).toMatchObject({ version: 2, status: "AUTHORISED", previousStatus: "ACTION_REQUIRED" });
    expect(await stores.payments.getPayment(payment.id)).toMatchObject({ status: "AUTHORISED", version: 2, authorisedByWebhook: true });
    expect(await stores.inbox.unapplied(payment.pspReference)).toEqual([]);
    expect(await stores.payments.receiveSignal(item(payment), authorisation(payment))).toEqual({
      id: received.id,
      duplicate: true,
      recorded: null,
    });
    expect(await stores.inbox.save([item(payment)])).toEqual([{ id: received.id, duplicate: true }]);
    expect((await stores.payments.listEvents(payment.id, 0)).map((e) => e.version)).toEqual([1, 2]);
  });

  it("stores a webhook item unapplied when no payment has its pspReference yet", async () => {
    const { stores } = await backend.open();
    const payment = await newPayment(stores.payments);
    const early = { ...payment, pspReference: "PSPNOTYETKNOWN01" };
    const received = await stores.payments.receiveSignal(item(early), authorisation(payment));
    expect(received).toMatchObject({ duplicate: false, recorded: null });
    expect((await stores.inbox.unapplied("PSPNOTYETKNOWN01")).map((n) => n.id)).toEqual([received.id]);
    expect(await stores.payments.getPayment(payment.id)).toMatchObject({ status: null, version: 0 });
  });

  it("applies one webhook item once when two instances receive it at the same moment", async () => {
    const { stores, again } = await backend.open();
    const other = await again();
    const payment = await redirected(stores.payments);
    const results = await Promise.all([
      stores.payments.receiveSignal(item(payment), authorisation(payment)),
      other.payments.receiveSignal(item(payment), authorisation(payment)),
      stores.payments.receiveSignal(item(payment), authorisation(payment)),
    ]);
    expect(results.filter((r) => r.recorded?.change)).toHaveLength(1);
    expect(results.filter((r) => r.duplicate)).toHaveLength(2);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(await stores.inbox.unapplied(payment.pspReference)).toEqual([]);
    expect((await stores.payments.listEvents(payment.id, 0)).map((e) => [e.version, e.status])).toEqual([
      [1, "ACTION_REQUIRED"],
      [2, "AUTHORISED"],
    ]);
  });

  it("loses no update when a received webhook races another signal of its payment", async () => {
    const { stores, again } = await backend.open();
    const other = await again();
    // Several rounds, so that the other signal lands both before and between the receiver's read and its write.
    for (let round = 0; round < 10; round++) {
      const payment = await redirected(stores.payments);
      const [received] = await Promise.all([
        stores.payments.receiveSignal(item(payment), authorisation(payment)),
        other.payments.recordSignal(payment.id, { source: "WEBHOOK", eventCode: "OFFER_CLOSED" }, {}),
      ]);
      expect(received.recorded).not.toBeNull();
      const events = await stores.payments.listEvents(payment.id, 0);
      expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
      expect(await stores.payments.getPayment(payment.id)).toMatchObject({ status: "AUTHORISED", version: events.length });
      expect(await stores.inbox.unapplied(payment.pspReference)).toEqual([]);
    }
  });

  it("loses no update when different signals race: versions never skip or repeat", async () => {
    const { stores, again } = await backend.open();
    const other = await again();
    const payment = await redirected(stores.payments);
    await Promise.all([
      stores.payments.recordSignal(payment.id, { source: "WEBHOOK", eventCode: "OFFER_CLOSED" }, {}),
      other.payments.recordSignal(payment.id, { source: "WEBHOOK", eventCode: "AUTHORISATION", success: true, amount: payment.amount }, {}),
    ]);
    const events = await stores.payments.listEvents(payment.id, 0);
    expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
    // AUTHORISATION success=true is Adyen's final word, whichever order they ran in.
    expect(await stores.payments.getPayment(payment.id)).toMatchObject({ status: "AUTHORISED", version: events.length });
  });

  it("leaves a webhook about another pspReference unapplied", async () => {
    const { stores } = await backend.open();
    const payment = await redirected(stores.payments);
    const id = (await stores.inbox.save([{ ...item(payment), pspReference: "PSPOTHER00000001" }]))[0]!.id;
    const recorded = await stores.payments.recordSignal(
      payment.id,
      { source: "WEBHOOK", eventCode: "OFFER_CLOSED" },
      { pspReference: "PSPOTHER00000001" as never },
      { notificationId: id },
    );
    expect(recorded.change).toBeNull();
    expect((await stores.inbox.unapplied("PSPOTHER00000001")).map((n) => n.id)).toEqual([id]);
  });

  it("finds a webhook's payment by reference only while its pspReference is unknown and the match is unique", async () => {
    const { stores } = await backend.open();
    const payment = await newPayment(stores.payments, 5_000);
    const target = { pspReference: "PSPUNKNOWN000001", merchantReference: payment.reference, amount: payment.amount };
    expect((await stores.payments.findPaymentFor(target))?.id).toBe(payment.id);
    expect(await stores.payments.findPaymentFor({ ...target, amount: { value: 1, currency: "KRW" } })).toBeNull();
  });

  it("lets one holder at a time take a lease, across instances, until it is released or expires", async () => {
    const { stores, again } = await backend.open();
    const other = await again();
    // SQLite serves one process: its leases are per instance, so the race runs on one set of stores there.
    const second = backend.name === "sqlite" ? stores : other;
    const taken = await Promise.all([
      stores.payments.takeLease("p1:payments", "a", 60_000),
      second.payments.takeLease("p1:payments", "b", 60_000),
    ]);
    expect(taken.filter(Boolean)).toHaveLength(1);
    const winner = taken[0] ? "a" : "b";
    const loser = taken[0] ? second : stores;
    expect(await loser.payments.takeLease("p1:payments", "c", 60_000)).toBe(false);
    await (taken[0] ? stores : second).payments.releaseLease("p1:payments", winner);
    expect(await loser.payments.takeLease("p1:payments", "c", 1)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await stores.payments.takeLease("p1:payments", "d", 60_000)).toBe(true);
  });

  it("takes a new payment's lease in the write that creates it, and gives it back in the write of Adyen's answer", async () => {
    const { stores, again } = await backend.open();
    const other = await again();
    const second = backend.name === "sqlite" ? stores : other;
    const row = draft();
    expect((await stores.payments.createPayment(row, claim("leased-key"), { holder: "a", ttlMs: 60_000 })).kind).toBe("created");
    expect(await second.payments.takeLease(row.id, "b", 60_000)).toBe(false);
    // A repeat of the key finds the payment and takes no lease: "a" still holds it.
    expect((await second.payments.createPayment(draft(), claim("leased-key"), { holder: "b", ttlMs: 60_000 })).kind).toBe("existing");
    expect(await second.payments.takeLease(row.id, "b", 60_000)).toBe(false);
    const recorded = await stores.payments.recordSignal(
      row.id,
      { source: "API", resultCode: "RedirectShopper" },
      { pspReference: "PSPLEASED0000001" as never },
      undefined,
      { key: row.id, holder: "a" },
    );
    expect(recorded.change?.payment.status).toBe("ACTION_REQUIRED");
    expect(await second.payments.takeLease(row.id, "b", 60_000)).toBe(true);
  });

  it("expires orphans older than the session lifetime only", async () => {
    const { stores } = await backend.open();
    const payment = await newPayment(stores.payments);
    expect(await stores.payments.expireOrphans()).not.toContain(payment.id as PaymentId);
  });
});

function authorisation(payment: { amount: { value: number; currency: string } }) {
  return { source: "WEBHOOK", eventCode: "AUTHORISATION", success: true, reason: null, amount: payment.amount } as const;
}
