import { Redis } from "ioredis";
import { newPayment } from "../support/stores.js";
import { afterEach, describe, expect, it } from "vitest";
import type { PaymentId, RefundId } from "../../src/payments/ids.js";
import type { PaymentStatusChange } from "../../src/payments/payment.js";
import { RedisStatusFeed } from "../../src/pubsub/redis-feed.js";
import { openStores, type Stores } from "../../src/store/index.js";
import { memoryLogger } from "../support/logger.js";
import { TEST_REDIS_URL } from "../support/redis.js";

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup() {
  const stores = await openStores("file::memory:");
  cleanups.push(() => stores.close());
  const feed = await RedisStatusFeed.connect(TEST_REDIS_URL!, stores.payments, memoryLogger([]));
  cleanups.push(() => feed.close());
  // Another instance's publisher, ringing whatever doorbell the test wants.
  const other = new Redis(TEST_REDIS_URL!);
  cleanups.push(() => other.quit());
  return { stores, feed, other };
}

let counter = 0;
async function payment(stores: Stores): Promise<PaymentId> {
  const id = `pay_feed_${Date.now()}_${++counter}` as PaymentId;
  await stores.payments.createPayment(newPayment({ id, reference: id }), null);
  return id;
}

function ring(other: Redis, paymentId: PaymentId, version: number) {
  return other.publish(`kakaopay:payment-status:${paymentId}`, JSON.stringify({ paymentId, version }));
}

describe.skipIf(!TEST_REDIS_URL)("RedisStatusFeed (TEST_REDIS_URL)", () => {
  it("fills a version gap from the store when a doorbell was lost, and hands nothing twice", async () => {
    const { stores, feed, other } = await setup();
    const id = await payment(stores);
    await stores.payments.recordSignal(id, { source: "API", resultCode: "RedirectShopper" }, {});
    const subscription = feed.subscribe(id);
    const changes = subscription[Symbol.asyncIterator]();
    const next = async (): Promise<PaymentStatusChange> => (await changes.next()).value as PaymentStatusChange;

    // Read once the channel subscription is confirmed.
    expect((await next()).event).toMatchObject({ version: 1, status: "ACTION_REQUIRED" });

    // Committed elsewhere; its doorbell is lost. A stale doorbell rings meanwhile.
    await stores.payments.recordSignal(id, { source: "REDIRECT", resultCode: "Pending" }, {});
    await ring(other, id, 1);
    await stores.payments.recordSignal(
      id,
      { source: "WEBHOOK", eventCode: "AUTHORISATION", success: true, amount: { value: 1000, currency: "KRW" } },
      {},
    );
    await ring(other, id, 3);

    const second = await next();
    expect([second.event.version, second.event.status]).toEqual([2, "PENDING"]);
    const third = await next();
    expect([third.event.version, third.event.status]).toEqual([3, "AUTHORISED"]);
    expect(third.payment).toMatchObject({ id, status: "AUTHORISED", version: 3 });

    // The same doorbell again, and the local publish of version 3: neither hands version 3 twice.
    await ring(other, id, 3);
    feed.publish(third);
    await stores.refunds.createRefund(
      id,
      () => ({ amount: { value: 500, currency: "KRW" }, reference: `${id}-R1` }),
      { id: `ref_${id}` as RefundId, nextSendAt: new Date() },
      null,
    );
    await ring(other, id, 4);
    expect((await next()).event).toMatchObject({ version: 4, refundStatus: "PENDING", refundId: `ref_${id}` });
    subscription.close();
    expect(await changes.next()).toEqual({ value: undefined, done: true });
    expect(feed.active).toBe(0);
  });
});
