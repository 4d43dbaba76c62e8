import { join } from "node:path";
import Database from "better-sqlite3";
import { print } from "graphql";
import { afterEach, describe, expect, it } from "vitest";
import { PaymentStatusChangedDocument, StartKakaoPayPaymentDocument, SubmitPaymentDetailsDocument } from "../generated/graphql.js";
import { E2E_ON_POSTGRES } from "../support/database.js";
import { eventually, TestGateway } from "../support/gateway.js";
import { notificationBody, postWebhook, signedItem } from "../support/webhooks.js";

/**
 * Internal errors (here: the database refusing writes or missing a table, done to the gateway's own SQLite file from a
 * second connection, as an operator's mistake or a broken disk would) must reach the operator's log once, with the
 * stack, and never the app.
 */
const gateways: TestGateway[] = [];
const connections: Database.Database[] = [];
afterEach(async () => {
  for (const db of connections.splice(0)) db.close();
  for (const gw of gateways.splice(0)) await gw.close();
});

async function gateway() {
  const gw = await TestGateway.start();
  gateways.push(gw);
  return gw;
}

/** A second connection to the gateway's database file. */
function sideConnection(gw: TestGateway): Database.Database {
  const db = new Database(join(gw.dir, "gateway.db"));
  connections.push(db);
  return db;
}

/** A stack frame inside a JSON log line (its newlines escaped). */
const STACK_FRAME = /\\n\s+at /;
const input = (reference: string) => ({
  amount: { value: 1000, currency: "KRW" },
  reference,
  returnUrl: "https://shop.example/r",
});
const logged = (gw: TestGateway, text: string) => gw.lines.filter((line) => line.includes(text));

// The failures are made in SQLite itself (a trigger, a renamed table) through a side connection: those run on SQLite only.
const itOnSqlite = it.skipIf(E2E_ON_POSTGRES);

describe("internal errors", () => {
  itOnSqlite("over HTTP: a failed write is INTERNAL_SERVER_ERROR for the app and logged once with its stack", async () => {
    const gw = await gateway();
    sideConnection(gw).exec("CREATE TRIGGER refuse BEFORE INSERT ON payments BEGIN SELECT RAISE(ABORT, 'disk refuses the write'); END");

    const result = await gw.request(StartKakaoPayPaymentDocument, { input: input("refused-write") });
    expect(result.errors?.map((e) => [e.message, e.extensions?.code])).toEqual([["Internal error", "INTERNAL_SERVER_ERROR"]]);
    expect(JSON.stringify(result)).not.toContain("disk refuses");
    const lines = logged(gw, "disk refuses the write");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(STACK_FRAME);
  });

  it("client mistakes (our own error codes) are not logged as internal errors", async () => {
    const gw = await gateway();
    const notFound = await gw.request(SubmitPaymentDetailsDocument, {
      input: { paymentId: "pay_doesnotexist", details: { redirectResult: "abc" } },
    });
    expect(notFound.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const badInput = await gw.request(StartKakaoPayPaymentDocument, { input: { ...input("bad"), amount: { value: -1, currency: "KRW" } } });
    expect(badInput.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(gw.lines.filter((line) => STACK_FRAME.test(line) || /internal/i.test(line))).toEqual([]);
  });

  itOnSqlite(
    "over graphql-ws: a subscription's internal error reaches the app as INTERNAL_SERVER_ERROR and is logged once with its stack",
    async () => {
      const gw = await gateway();
      const payment = await gw.data(StartKakaoPayPaymentDocument, { input: input("ws-broken") });
      sideConnection(gw).exec("ALTER TABLE payment_events RENAME TO payment_events_moved");

      const errors = await new Promise<Array<{ message: string; extensions?: Record<string, unknown> }>>((resolve, reject) => {
        gw.ws().subscribe(
          { query: print(PaymentStatusChangedDocument), variables: { paymentId: payment.startKakaoPayPayment.id, afterVersion: 0 } },
          {
            next: (value) => (value.errors ? resolve(value.errors as never) : reject(new Error("a change was replayed"))),
            error: (error) => resolve(error as never),
            complete: () => reject(new Error("completed without an error")),
          },
        );
      });
      expect(errors.map((e) => [e.message, e.extensions?.code])).toEqual([["Internal error", "INTERNAL_SERVER_ERROR"]]);
      const lines = logged(gw, "no such table: payment_events");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(STACK_FRAME);
    },
  );

  itOnSqlite("in the webhook route: a failed write answers 500 and is logged once with its stack", async () => {
    const gw = await gateway();
    sideConnection(gw).exec("ALTER TABLE notification_inbox RENAME TO notification_inbox_moved");
    const body = notificationBody([
      signedItem({
        eventCode: "AUTHORISATION",
        pspReference: "PSP0000000000001",
        merchantReference: "x",
        amount: { value: 1000, currency: "KRW" },
      }),
    ]);
    const response = await postWebhook(gw.url, body);
    expect(response.status).toBe(500);
    expect(response.text).not.toContain("notification_inbox");
    const lines = logged(gw, "no such table: notification_inbox");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(STACK_FRAME);
  });

  itOnSqlite("in background work: a webhook that cannot be applied is logged with its stack", async () => {
    const gw = await gateway();
    const payment = (await gw.data(StartKakaoPayPaymentDocument, { input: input("bg-broken") })).startKakaoPayPayment;
    sideConnection(gw).exec("CREATE TRIGGER refuse BEFORE UPDATE ON payments BEGIN SELECT RAISE(ABORT, 'disk refuses the update'); END");
    const body = notificationBody([
      signedItem({
        eventCode: "AUTHORISATION",
        pspReference: payment.pspReference!,
        merchantReference: payment.reference,
        amount: { value: 1000, currency: "KRW" },
      }),
    ]);
    expect((await postWebhook(gw.url, body)).text).toBe("[accepted]");
    const lines = await eventually(async () => {
      const found = logged(gw, "disk refuses the update");
      if (found.length === 0) throw new Error("not logged yet");
      return found;
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(STACK_FRAME);
  });
});

// SQLite-only: the failure is made in SQLite itself from a side connection (its write lock); PostgreSQL's /readyz
// has its own test (test/e2e/database-outage.test.ts).
describe.skipIf(E2E_ON_POSTGRES)("/readyz", () => {
  it("says 503 while the database cannot take a write, and ready again once it can", async () => {
    const gw = await gateway();
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    const other = sideConnection(gw);
    // Another writer holds the database's write lock: reads still work, every write of ours fails.
    other.exec("BEGIN IMMEDIATE");
    const locked = await fetch(`${gw.url}/readyz`);
    expect(locked.status).toBe(503);
    other.exec("ROLLBACK");
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
  }, 30_000);
});
