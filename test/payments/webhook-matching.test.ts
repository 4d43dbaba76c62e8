import { afterEach, describe, expect, it } from "vitest";
import { memoryLogger } from "../support/logger.js";
import { authorisationItem, newPayment } from "../support/stores.js";
import type { PaymentId, PspReference } from "../../src/payments/ids.js";
import type { WebhookAnomaly } from "../../src/payments/telemetry.js";
import { PaymentWebhooks } from "../../src/payments/webhooks.js";
import { openSqliteStores, type Stores } from "../../src/store/index.js";

const opened: Stores[] = [];
afterEach(async () => {
  for (const stores of opened.splice(0)) await stores.close();
});

/** Stores whose payment sessions last `sessionLifetimeMs`, and webhooks over them. */
function setup(sessionLifetimeMs: number) {
  const stores = openSqliteStores(":memory:", sessionLifetimeMs);
  opened.push(stores);
  const anomalies: WebhookAnomaly[] = [];
  const lines: string[] = [];
  const webhooks = new PaymentWebhooks({
    store: stores.payments,
    tokens: stores.storedPaymentMethods,
    refunds: stores.refunds,
    inbox: stores.inbox,
    events: { publish: () => {} },
    merchantAccount: "Merchant",
    telemetry: { webhookAnomaly: (kind) => void anomalies.push(kind), webhookItem: () => {} },
    logger: memoryLogger(lines),
  });
  return { stores, webhooks, anomalies, lines };
}

let counter = 0;
/** A payment row as written before /payments is called: status null, no pspReference. */
async function paymentRow(stores: Stores, reference: string, owner = "alpha") {
  const id = `pay_match_${++counter}` as PaymentId;
  await stores.payments.createPayment(newPayment({ id, owner, reference }), null);
  return id;
}

const pastLifetime = () => new Promise((resolve) => setTimeout(resolve, 100));

describe("a webhook found by merchant reference while its pspReference is unknown", () => {
  it("is applied to the one payment with that reference and amount created within the session lifetime", async () => {
    const { stores, webhooks } = setup(3_600_000);
    const id = await paymentRow(stores, "order-fresh");
    await webhooks.apply(await webhooks.receive([authorisationItem("PSPFRESH00000001", "order-fresh")]));
    expect(await stores.payments.getPayment(id)).toMatchObject({ status: "AUTHORISED", pspReference: "PSPFRESH00000001" });
  });

  it("is never applied to a payment created longer ago than the session lifetime", async () => {
    const { stores, webhooks } = setup(50);
    const id = await paymentRow(stores, "order-old");
    await pastLifetime();
    await webhooks.apply(await webhooks.receive([authorisationItem("PSPLATE000000001", "order-old")]));
    expect(await stores.payments.getPayment(id)).toMatchObject({ status: null, pspReference: null, version: 0 });
    expect(await stores.inbox.unapplied("PSPLATE000000001")).toHaveLength(1);
  });

  it("is applied to none when two apps used the same reference", async () => {
    const { stores, webhooks } = setup(3_600_000);
    const alpha = await paymentRow(stores, "order-shared", "alpha");
    const beta = await paymentRow(stores, "order-shared", "beta");
    await webhooks.apply(await webhooks.receive([authorisationItem("PSPSHARED0000001", "order-shared")]));
    for (const id of [alpha, beta]) expect((await stores.payments.getPayment(id))?.status).toBeNull();
  });

  it("is logged, counted and settled, not applied, when the payment's pspReference turns out to be another", async () => {
    const { stores, webhooks, anomalies, lines } = setup(3_600_000);
    const id = await paymentRow(stores, "order-race");
    const [item] = await webhooks.receive([authorisationItem("PSPOTHER00000001", "order-race")]);
    // Adyen's /payments answer (another pspReference) commits between the webhook's lookup and its write.
    const answer = stores.payments.recordSignal(
      id,
      { source: "API", resultCode: "RedirectShopper" },
      { pspReference: "PSPMINE000000001" as PspReference },
    );
    await Promise.all([answer, webhooks.apply([item!])]);
    expect(await stores.payments.getPayment(id)).toMatchObject({ status: "ACTION_REQUIRED", pspReference: "PSPMINE000000001", version: 1 });
    expect(await stores.inbox.unapplied("PSPOTHER00000001")).toEqual([]);
    expect(anomalies).toEqual(["psp_reference_mismatch"]);
    expect(lines.some((line) => line.includes("PSPOTHER00000001") && line.includes("PSPMINE000000001"))).toBe(true);
  });
});

describe("payment rows whose /payments call failed for good", () => {
  it("are expired once older than the session lifetime, and stay invisible", async () => {
    const { stores } = setup(50);
    const orphan = await paymentRow(stores, "order-orphan");
    const answered = await paymentRow(stores, "order-answered");
    await stores.payments.recordSignal(
      answered,
      { source: "API", resultCode: "RedirectShopper" },
      { pspReference: "PSPANSWERED00001" as PspReference },
    );
    await pastLifetime();
    const fresh = await paymentRow(stores, "order-in-flight");
    expect(await stores.payments.expireOrphans()).toEqual([orphan]);
    expect(await stores.payments.expireOrphans()).toEqual([]);
    expect(await stores.payments.getPayment(orphan)).toMatchObject({ status: null, version: 0 });
    expect((await stores.payments.getPayment(fresh))?.status).toBeNull();
    expect((await stores.payments.getPayment(answered))?.status).toBe("ACTION_REQUIRED");
  });
});
