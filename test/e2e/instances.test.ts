import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withUser } from "../../src/store/pg/database.js";
import { PaymentDocument, StartKakaoPayPaymentDocument } from "../generated/graphql.js";
import { E2E_ON_POSTGRES } from "../support/database.js";
import { eventually, TestGateway } from "../support/gateway.js";
import { notificationBody, postWebhook, signedItem } from "../support/webhooks.js";

const ADYEN_API_KEY = "instances-adyen-key-0123456789";

// Two gateways on one database: PostgreSQL only (docs/contract.md, Running several instances); SQLite serves one.
describe.skipIf(!E2E_ON_POSTGRES)("two instances on one PostgreSQL database", () => {
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "kakaopay-gw-"));
    // Both start at once on the empty schema: the migrations run once, under the advisory lock.
    a = await TestGateway.start({ ADYEN_API_KEY }, dir);
    b = await TestGateway.start({ ADYEN_API_KEY, SIMULATOR_URL: a.simulator.url }, dir);
  });
  afterAll(async () => {
    await b?.close({ keepData: true });
    await a?.close();
  });

  const adyenPayments = () => a.simulator.control.stats().requestsByPath["/v72/payments"] ?? 0;

  it("gives one payment and one Adyen call for one idempotencyKey sent to both at once, 50 times", async () => {
    for (let round = 0; round < 50; round++) {
      const input = {
        amount: { value: 5_000, currency: "KRW" },
        reference: `two-instances-${round}`,
        returnUrl: "https://shop.example/r",
        idempotencyKey: `two-instances-key-${round}`,
      };
      // Now and then Adyen is slow, so that the second instance arrives while the first waits for it.
      if (round % 10 === 0) a.simulator.control.setFaults({ mode: "slow", slowMs: 300, count: 1 });
      const before = adyenPayments();
      const results = await Promise.all(
        [a, b].map((gw) => gw.data(StartKakaoPayPaymentDocument, { input }).then((r) => r.startKakaoPayPayment)),
      );
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      expect(results.every((r) => r.status === "ACTION_REQUIRED")).toBe(true);
      expect(adyenPayments() - before).toBe(1);
    }
  }, 120_000);

  it("changes a payment once for a webhook delivered to both at once, 100 times", async () => {
    for (let round = 0; round < 100; round++) {
      const input = {
        amount: { value: 6_000, currency: "KRW" },
        reference: `twice-delivered-${round}`,
        returnUrl: "https://shop.example/r",
      };
      const payment = (await a.data(StartKakaoPayPaymentDocument, { input })).startKakaoPayPayment;
      const body = notificationBody([
        signedItem({
          eventCode: "AUTHORISATION",
          pspReference: payment.pspReference!,
          merchantReference: input.reference,
          amount: input.amount,
        }),
      ]);
      const answers = await Promise.all([postWebhook(a.url, body), postWebhook(b.url, body)]);
      expect(answers.map((r) => r.status)).toEqual([200, 200]);
      const events = await eventually(async () => {
        const seen = (await b.data(PaymentDocument, { id: payment.id })).payment!;
        expect(seen.status).toBe("AUTHORISED");
        return seen.events;
      });
      expect(events.map((e) => [e.version, e.status])).toEqual([
        [1, "ACTION_REQUIRED"],
        [2, "AUTHORISED"],
      ]);
    }
  }, 180_000);

  it("keeps running when PostgreSQL drops its connections, and is ready again by itself", async () => {
    const admin = new pg.Client({ connectionString: withUser(a.databaseUrl) });
    await admin.connect();
    try {
      await admin.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
      );
    } finally {
      await admin.end();
    }
    await eventually(async () => expect((await fetch(`${a.url}/readyz`)).status).toBe(200));
    const input = { amount: { value: 7_000, currency: "KRW" }, reference: "after-terminate", returnUrl: "https://shop.example/r" };
    expect((await b.data(StartKakaoPayPaymentDocument, { input })).startKakaoPayPayment.status).toBe("ACTION_REQUIRED");
  });
});
