import { afterEach, describe, expect, it } from "vitest";
import { memoryLogger } from "../support/logger.js";
import { authorisationItem, newPayment } from "../support/stores.js";
import type { PaymentId, PspReference } from "../../src/payments/ids.js";
import type { NotificationInbox, PaymentStore } from "../../src/payments/ports.js";
import type { WebhookAnomaly } from "../../src/payments/telemetry.js";
import { PaymentWebhooks, type WebhookSweepOptions } from "../../src/payments/webhooks.js";
import { openSqliteStores, type Stores } from "../../src/store/index.js";
import { eventually } from "../support/gateway.js";

const opened: Array<{ stores: Stores; webhooks: PaymentWebhooks[] }> = [];
afterEach(async () => {
  for (const { stores, webhooks } of opened.splice(0)) {
    for (const w of webhooks) await w.stop();
    await stores.close();
  }
});

function setup() {
  const stores = openSqliteStores(":memory:");
  const entry = { stores, webhooks: [] as PaymentWebhooks[] };
  opened.push(entry);
  const anomalies: WebhookAnomaly[] = [];
  const lines: string[] = [];
  const webhooksWith = (sweep: Partial<WebhookSweepOptions>, parts: { store?: PaymentStore; inbox?: NotificationInbox } = {}) => {
    const webhooks = new PaymentWebhooks({
      store: parts.store ?? stores.payments,
      tokens: stores.storedPaymentMethods,
      refunds: stores.refunds,
      inbox: parts.inbox ?? stores.inbox,
      events: { publish: () => {} },
      merchantAccount: "Merchant",
      telemetry: { webhookAnomaly: (kind) => void anomalies.push(kind), webhookItem: () => {} },
      logger: memoryLogger(lines),
      sweep,
    });
    entry.webhooks.push(webhooks);
    return webhooks;
  };
  return { stores, anomalies, lines, webhooksWith };
}

let counter = 0;
/** A redirect payment as Adyen's /payments answer leaves it: ACTION_REQUIRED with its pspReference. */
async function redirectPayment(stores: Stores, reference = `order-${++counter}`) {
  const id = `pay_sweep_${++counter}` as PaymentId;
  const pspReference = `PSP${String(counter).padStart(13, "0")}` as PspReference;
  await stores.payments.createPayment(newPayment({ id, reference }), null);
  await stores.payments.recordSignal(id, { source: "API", resultCode: "RedirectShopper" }, { pspReference });
  return { id, pspReference, reference };
}

/**
 * The real store, except that applying a signal (with the item's save, or after it) fails the first `times` calls, as a
 * locked or full database would.
 */
function failingFirst(store: PaymentStore, times: number): PaymentStore {
  let left = times;
  return new Proxy(store, {
    get(target, property) {
      if ((property === "recordSignal" || property === "receiveSignal") && left > 0) {
        left--;
        return async () => {
          throw new Error("database is locked");
        };
      }
      const value = Reflect.get(target, property) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("the inbox sweep", () => {
  it("applies, while the process runs, an item whose first apply failed", async () => {
    const { stores, webhooksWith, lines } = setup();
    const p = await redirectPayment(stores);
    // Fails with the item's save (then it is stored alone) and again when it is applied after the answer.
    const webhooks = webhooksWith({ intervalMs: 5, backoffMs: 1 }, { store: failingFirst(stores.payments, 2) });
    await webhooks.apply(await webhooks.receive([authorisationItem(p.pspReference, p.reference)]));
    expect(lines.some((line) => line.includes("not applied yet"))).toBe(true);
    expect((await stores.payments.getPayment(p.id))?.status).toBe("ACTION_REQUIRED");

    await webhooks.startSweeping();
    await eventually(async () => expect((await stores.payments.getPayment(p.id))?.status).toBe("AUTHORISED"));
    expect(await stores.inbox.unapplied(p.pspReference)).toEqual([]);
  });

  it("reads the inbox in pages of at most batchSize items, and applies every one", async () => {
    const { stores, webhooksWith } = setup();
    const payments = await Promise.all(Array.from({ length: 5 }, () => redirectPayment(stores)));
    // Stored, never applied: what a crash right after the acknowledgement leaves behind.
    await stores.inbox.save(payments.map((p) => authorisationItem(p.pspReference, p.reference)));
    const pages: number[] = [];
    const inbox = new Proxy(stores.inbox, {
      get(target, property) {
        const value = Reflect.get(target, property) as unknown;
        if (typeof value !== "function") return value;
        if (property === "unapplied") throw new Error("the sweep must read the inbox in pages");
        if (property === "take") {
          return async (...args: Parameters<NotificationInbox["take"]>) => {
            const page = await target.take(...args);
            pages.push(page.length);
            return page;
          };
        }
        return value.bind(target);
      },
    });
    await webhooksWith({ batchSize: 2 }, { inbox }).sweep();
    for (const p of payments) expect((await stores.payments.getPayment(p.id))?.status).toBe("AUTHORISED");
    expect(pages.every((n) => n <= 2)).toBe(true);
    expect(pages.reduce((a, b) => a + b, 0)).toBe(5);
  });

  it("does not retry an item before its backoff, also from another instance on the same database", async () => {
    const { stores, webhooksWith } = setup();
    const p = await redirectPayment(stores);
    const options = { backoffMs: 3_600_000, maxBackoffMs: 3_600_000 };
    // Fails with the item's save and at the first sweep.
    const first = webhooksWith(options, { store: failingFirst(stores.payments, 2) });
    await first.receive([authorisationItem(p.pspReference, p.reference)]);
    await first.sweep();
    expect((await stores.payments.getPayment(p.id))?.status).toBe("ACTION_REQUIRED");

    await webhooksWith(options).sweep();
    await first.sweep();
    expect((await stores.payments.getPayment(p.id))?.status).toBe("ACTION_REQUIRED");
    expect(await stores.inbox.unapplied(p.pspReference)).toHaveLength(1);
  });

  it("keeps an item about an unknown payment until the limit, then settles it as unmatched and counts it", async () => {
    const { stores, webhooksWith, anomalies, lines } = setup();
    const item = authorisationItem("PSPUNKNOWN000001", "nobody-knows");
    await webhooksWith({ backoffMs: 1, unmatchedAfterMs: 3_600_000 }).receive([item]);
    await webhooksWith({ backoffMs: 1, unmatchedAfterMs: 3_600_000 }).sweep();
    expect(await stores.inbox.unapplied(item.pspReference)).toHaveLength(1);
    expect(anomalies).toEqual([]);

    const late = webhooksWith({ backoffMs: 1, unmatchedAfterMs: 0 });
    await eventually(async () => {
      await late.sweep();
      expect(await stores.inbox.unapplied(item.pspReference)).toEqual([]);
    });
    expect(anomalies).toEqual(["unmatched"]);
    expect(lines.some((line) => line.includes("unmatched") && line.includes(item.pspReference))).toBe(true);
  });

  it("stops sweeping when stopped", async () => {
    const { stores, webhooksWith } = setup();
    const p = await redirectPayment(stores);
    const webhooks = webhooksWith({ intervalMs: 5, backoffMs: 1 });
    await webhooks.startSweeping();
    await webhooks.stop();
    await stores.inbox.save([authorisationItem(p.pspReference, p.reference)]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await stores.payments.getPayment(p.id))?.status).toBe("ACTION_REQUIRED");
  });
});
