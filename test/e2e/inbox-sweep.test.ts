import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaymentDocument, StartKakaoPayPaymentDocument } from "../generated/graphql.js";
import { eventually, tableRows, TestGateway } from "../support/gateway.js";
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
  it("applies a webhook whose first apply failed, without a restart", async () => {
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
      const row = tableRows(gw, "notification_inbox").find((r) => r.psp_reference === "UNKNOWNPSP000001");
      expect(row).toMatchObject({ outcome: "unmatched", merchant_reference: "nobody-ordered-this" });
      expect(row?.applied_at).not.toBeNull();
    });
    expect(await gw.gateway.metrics.value("gateway_webhook_anomalies_total", { kind: "unmatched" })).toBe(1);
    expect(gw.lines.some((line) => line.includes("UNKNOWNPSP000001") && line.includes("unmatched"))).toBe(true);
  });
});
