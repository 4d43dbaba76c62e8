import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withUser } from "../../src/store/pg/database.js";
import { StartKakaoPayPaymentDocument } from "../generated/graphql.js";
import { E2E_ON_POSTGRES, schemaFor } from "../support/database.js";
import { eventually, TestGateway } from "../support/gateway.js";

const ADYEN_API_KEY = "instances-adyen-key-0123456789";

// Two gateways on one database: PostgreSQL only (docs/contract.md, Running several instances); SQLite serves one.
describe.skipIf(!E2E_ON_POSTGRES)("two instances on one PostgreSQL database", () => {
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "kakaopay-gw-"));
    // B on A's schema (the same dir) and A's simulator.
    a = await TestGateway.start({ ADYEN_API_KEY }, dir);
    b = await TestGateway.start({ ADYEN_API_KEY, SIMULATOR_URL: a.simulator.url }, dir);
  });
  afterAll(async () => {
    await b?.close({ keepData: true });
    await a?.close();
  });

  it("keeps running when PostgreSQL drops its connections, and is ready again by itself", async () => {
    // Each pool holds a connection now (the probe just used it), for the server to drop.
    for (const gw of [a, b]) expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    const admin = new pg.Client({ connectionString: withUser(a.databaseUrl) });
    await admin.connect();
    try {
      // Only this test's connections (testSchemaUrl names them): other runs on the same server are left alone.
      const { rowCount } = await admin.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()",
        [schemaFor(a.dir)],
      );
      expect(rowCount).toBeGreaterThanOrEqual(2);
    } finally {
      await admin.end();
    }
    await eventually(async () => expect((await fetch(`${a.url}/readyz`)).status).toBe(200));
    const input = { amount: { value: 7_000, currency: "KRW" }, reference: "after-terminate", returnUrl: "https://shop.example/r" };
    expect((await b.data(StartKakaoPayPaymentDocument, { input })).startKakaoPayPayment.status).toBe("ACTION_REQUIRED");
  });
});
