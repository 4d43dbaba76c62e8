import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaymentDocument, StartKakaoPayPaymentDocument } from "../generated/graphql.js";
import { E2E_ON_POSTGRES } from "../support/database.js";
import { ALPHA_KEY, BETA_KEY, eventually, tableRows, TestGateway } from "../support/gateway.js";
import { notificationBody, postWebhook, signedItem } from "../support/webhooks.js";

/** A gateway whose inbox sweep runs often, with a short backoff and a short wait before "unmatched". */
let gw: TestGateway;
beforeAll(async () => {
  gw = await TestGateway.start({}, undefined, {
    webhookSweep: { intervalMs: 20, backoffMs: 10, maxBackoffMs: 100, unmatchedAfterMs: 300 },
  });
});
afterAll(() => gw.close());

let counter = 0;
async function startPayment() {
  const reference = `sweep-order-${++counter}`;
  const payment = (
    await gw.data(StartKakaoPayPaymentDocument, {
      input: { amount: { value: 12300, currency: "KRW" }, reference, returnUrl: "https://shop.example/r" },
    })
  ).startKakaoPayPayment;
  return { ...payment, pspReference: payment.pspReference!, reference };
}

/** A statement on the gateway's database from another connection, as an operator's tool would run it. */
function onDatabase(statement: string): void {
  const db = new Database(join(gw.dir, "gateway.db"));
  try {
    db.exec(statement);
  } finally {
    db.close();
  }
}

describe("the inbox sweep, while the gateway runs", () => {
  // The failing write is a SQLite trigger set from another connection; PostgreSQL runs the same sweep code.
  it.skipIf(E2E_ON_POSTGRES)("applies a webhook whose first apply failed, without a restart", async () => {
    const p = await startPayment();
    // The payment's row refuses updates for a while, as a locked or failing database would.
    onDatabase(`CREATE TRIGGER hold_payment BEFORE UPDATE ON payments WHEN OLD.id = '${p.id}'
      BEGIN SELECT RAISE(ABORT, 'payment momentarily unwritable'); END`);
    try {
      const item = signedItem({ eventCode: "AUTHORISATION", pspReference: p.pspReference, merchantReference: p.reference });
      expect(await postWebhook(gw.url, notificationBody([item]))).toEqual({ status: 200, text: "[accepted]" });
      await eventually(async () => expect(gw.lines.some((line) => line.includes("momentarily unwritable"))).toBe(true));
    } finally {
      onDatabase("DROP TRIGGER hold_payment");
    }
    await eventually(async () =>
      expect((await gw.data(PaymentDocument, { id: p.id })).payment).toMatchObject({ status: "AUTHORISED", version: 2 }),
    );
  });

  it("settles a webhook about a payment nobody knows as unmatched after the limit, logs it and keeps it", async () => {
    const item = signedItem({ eventCode: "AUTHORISATION", pspReference: "UNKNOWNPSP000001", merchantReference: "nobody-ordered-this" });
    expect(await postWebhook(gw.url, notificationBody([item]))).toEqual({ status: 200, text: "[accepted]" });
    await eventually(async () => {
      const row = (await tableRows(gw, "notification_inbox")).find((r) => r.psp_reference === "UNKNOWNPSP000001");
      expect(row).toMatchObject({ outcome: "unmatched", merchant_reference: "nobody-ordered-this" });
      expect(row?.applied_at).not.toBeNull();
    });
    expect(await gw.gateway.metrics.value("gateway_webhook_anomalies_total", { kind: "unmatched" })).toBe(1);
    expect(gw.lines.some((line) => line.includes("UNKNOWNPSP000001") && line.includes("unmatched"))).toBe(true);
  });
});

describe("matching by merchant reference", () => {
  let short: TestGateway;
  beforeAll(async () => {
    short = await TestGateway.start({}, undefined, {
      webhookSweep: { intervalMs: 20, backoffMs: 10, maxBackoffMs: 100, unmatchedAfterMs: 300 },
      sessionLifetimeMs: 500,
    });
  });
  afterAll(() => short.close());

  const input = (reference: string, idempotencyKey: string) => ({
    amount: { value: 6100, currency: "KRW" },
    reference,
    returnUrl: "https://shop.example/r",
    idempotencyKey,
  });

  /** A payment whose /payments call failed for good: Adyen answered 500 and never created it. */
  async function failedPayment(reference: string, apiKey = ALPHA_KEY) {
    short.simulator.control.setFaults({ mode: "5xx", paths: ["/v72/payments"] });
    try {
      const failed = await short.request(StartKakaoPayPaymentDocument, { input: input(reference, `${reference}-key`) }, apiKey);
      expect(failed.errors?.[0]?.extensions?.code).toBe("PROVIDER_UNAVAILABLE");
    } finally {
      short.simulator.control.reset();
    }
    return (await tableRows(short, "payments")).find((r) => r.reference === reference)!;
  }

  const inboxRow = async (pspReference: string) =>
    (await tableRows(short, "notification_inbox")).find((r) => r.psp_reference === pspReference);

  it("never applies a webhook to another app's payment older than the session lifetime", async () => {
    const orphan = await failedPayment("shared-ref-old");
    await new Promise((resolve) => setTimeout(resolve, 600));
    const item = signedItem({
      eventCode: "AUTHORISATION",
      pspReference: "OTHERAPPPSP00001",
      merchantReference: "shared-ref-old",
      amount: { value: 6100, currency: "KRW" },
    });
    expect(await postWebhook(short.url, notificationBody([item]))).toEqual({ status: 200, text: "[accepted]" });
    await eventually(async () => expect(await inboxRow("OTHERAPPPSP00001")).toMatchObject({ outcome: "unmatched" }));
    expect((await tableRows(short, "payments")).find((r) => r.id === orphan.id)).toMatchObject({
      status: null,
      psp_reference: null,
      version: 0,
    });
  });

  it("never applies a webhook to another app's payment whose pspReference is another", async () => {
    const other = (await short.data(StartKakaoPayPaymentDocument, { input: input("shared-ref-known", "known-1") }, BETA_KEY))
      .startKakaoPayPayment;
    const item = signedItem({
      eventCode: "AUTHORISATION",
      pspReference: "OTHERAPPPSP00002",
      merchantReference: "shared-ref-known",
      amount: { value: 6100, currency: "KRW" },
    });
    expect(await postWebhook(short.url, notificationBody([item]))).toEqual({ status: 200, text: "[accepted]" });
    await eventually(async () => expect(await inboxRow("OTHERAPPPSP00002")).toMatchObject({ outcome: "unmatched" }));
    expect((await short.data(PaymentDocument, { id: other.id }, BETA_KEY)).payment).toMatchObject({
      status: "ACTION_REQUIRED",
      version: 1,
      pspReference: other.pspReference,
    });
  });

  it("expires a payment row whose /payments call failed for good, and keeps it invisible", async () => {
    const orphan = await failedPayment("orphan-ref");
    await eventually(async () =>
      expect((await tableRows(short, "payments")).find((r) => r.id === orphan.id)?.expired_at).toEqual(expect.any(Number)),
    );
    expect((await short.request(PaymentDocument, { id: orphan.id as string })).data?.payment).toBeNull();
  });
});
