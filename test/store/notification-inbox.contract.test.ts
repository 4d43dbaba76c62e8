import { afterEach, describe, expect, it } from "vitest";
import { NotificationOutcome } from "../../src/payments/notification.js";
import { BACKENDS, closeAll, item, redirected } from "./backends.js";

afterEach(closeAll);

const BACKOFF = { backoffMs: 60_000, maxBackoffMs: 600_000 };

describe.each(BACKENDS)("NotificationInbox on $name", (backend) => {
  it("stores an item once: a redelivery to another instance, even at the same moment, is a duplicate of the first", async () => {
    const { stores, again } = await backend.open();
    const other = await again();
    const payment = await redirected(stores.payments);
    const saved = await Promise.all([stores.inbox.save([item(payment)]), other.inbox.save([item(payment)])]);
    const all = saved.flat();
    expect(all.filter((s) => !s.duplicate)).toHaveLength(1);
    expect(new Set(all.map((s) => s.id)).size).toBe(1);
    expect(await stores.inbox.unapplied(payment.pspReference)).toHaveLength(1);
  });

  it("lists unapplied items by pspReference or originalReference, oldest first, and forgets settled ones", async () => {
    const { stores } = await backend.open();
    const payment = await redirected(stores.payments);
    const [first, second] = await stores.inbox.save([
      item(payment),
      { ...item(payment, "RECURRING_CONTRACT"), pspReference: "TOKEN00000000001", originalReference: payment.pspReference },
    ]);
    expect((await stores.inbox.unapplied(payment.pspReference)).map((n) => n.id)).toEqual([first!.id, second!.id]);
    await stores.inbox.settle(first!.id, NotificationOutcome.UNHANDLED_EVENT);
    expect((await stores.inbox.unapplied(payment.pspReference)).map((n) => n.id)).toEqual([second!.id]);
  });

  it("hands each due item to one sweep, here or in another instance, then not again before its backoff", async () => {
    const { stores, again } = await backend.open();
    const other = await again();
    const payments = await Promise.all(Array.from({ length: 6 }, () => redirected(stores.payments)));
    await stores.inbox.save(payments.map((p) => item(p)));
    const now = new Date();
    const [mine, theirs] = await Promise.all([stores.inbox.take(now, 0, 100, BACKOFF), other.inbox.take(now, 0, 100, BACKOFF)]);
    const taken = [...mine!, ...theirs!].map((n) => n.id);
    expect(taken).toHaveLength(6);
    expect(new Set(taken).size).toBe(6);
    expect(await stores.inbox.take(new Date(now.getTime() + 59_000), 0, 100, BACKOFF)).toEqual([]);
    expect(await stores.inbox.take(new Date(now.getTime() + 61_000), 0, 100, BACKOFF)).toHaveLength(6);
    // The second attempt waits twice as long.
    expect(await stores.inbox.take(new Date(now.getTime() + 61_000 + 119_000), 0, 100, BACKOFF)).toEqual([]);
  });

  it("pages through due items by id, at most `limit` at a time", async () => {
    const { stores } = await backend.open();
    const payments = await Promise.all(Array.from({ length: 3 }, () => redirected(stores.payments)));
    const saved = await stores.inbox.save(payments.map((p) => item(p)));
    const now = new Date();
    const page = await stores.inbox.take(now, 0, 2, BACKOFF);
    expect(page.map((n) => n.id)).toEqual(saved.slice(0, 2).map((s) => s.id));
    expect((await stores.inbox.take(now, page.at(-1)!.id, 2, BACKOFF)).map((n) => n.id)).toEqual([saved[2]!.id]);
  });
});
