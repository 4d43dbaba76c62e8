import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withUser } from "../../src/store/pg/database.js";
import { PaymentDocument, StartKakaoPayPaymentDocument } from "../generated/graphql.js";
import { dropTestSchema, E2E_ON_POSTGRES, schemaFor, TEST_DATABASE_URL, testSchemaUrl } from "../support/database.js";
import { eventually, graphqlRequest, TestGateway } from "../support/gateway.js";
import { type GatewayProcess, startGatewayProcess } from "../support/process.js";
import { notificationBody, postWebhook, signedItem } from "../support/webhooks.js";

/** A TCP relay to PostgreSQL that a test can cut and restore: the server "does not answer" while it is cut. */
class Relay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    if (this.server) return;
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, "127.0.0.1", resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve());
  }
}

describe.skipIf(!E2E_ON_POSTGRES)("PostgreSQL that stops answering", () => {
  let gw: TestGateway;
  let relay: Relay;

  beforeAll(async () => {
    const server = new URL(TEST_DATABASE_URL!);
    relay = new Relay({ host: server.hostname, port: Number(server.port || 5432) });
    await relay.open();
    const dir = mkdtempSync(join(tmpdir(), "kakaopay-gw-"));
    const url = new URL(await testSchemaUrl(schemaFor(dir)));
    url.hostname = "127.0.0.1";
    url.port = String(relay.port);
    gw = await TestGateway.start({ DATABASE_URL: url.toString() }, dir);
  });
  afterAll(async () => {
    await gw?.close();
    await relay.cut();
  });

  it("answers 503 on /readyz while PostgreSQL does not answer, and recovers by itself when it is back", async () => {
    const input = { amount: { value: 3_000, currency: "KRW" }, reference: "outage-before", returnUrl: "https://shop.example/r" };
    const before = (await gw.data(StartKakaoPayPaymentDocument, { input })).startKakaoPayPayment;
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);

    await relay.cut();
    await eventually(async () => expect((await fetch(`${gw.url}/readyz`)).status).toBe(503), 20_000);
    // The process is still there: liveness holds while the database is away.
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);

    await relay.open();
    await eventually(async () => expect((await fetch(`${gw.url}/readyz`)).status).toBe(200), 20_000);
    expect((await gw.data(PaymentDocument, { id: before.id })).payment?.status).toBe("ACTION_REQUIRED");
  });
});

describe.skipIf(!E2E_ON_POSTGRES)("PostgreSQL that answers but refuses writes", () => {
  let gw: TestGateway;
  let admin: pg.Client;
  afterAll(async () => {
    await gw?.close();
    await admin?.end();
  });

  it("answers 503 on /readyz while a write cannot commit, and 200 again once it can", async () => {
    gw = await TestGateway.start();
    admin = new pg.Client({ connectionString: withUser(gw.databaseUrl) });
    await admin.connect();
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    // Reads still answer; every insert into the gateway's tables is refused, as a read-only or full database would.
    await admin.query(`create function refuse_writes() returns trigger language plpgsql as $$
      begin raise exception 'the database refuses writes'; end $$`);
    for (const table of ["payments", "leases", "notification_inbox"]) {
      await admin.query(`create trigger refuse before insert on ${table} for each row execute function refuse_writes()`);
    }
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(503);
    for (const table of ["payments", "leases", "notification_inbox"]) await admin.query(`drop trigger refuse on ${table}`);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
  });
});

describe.skipIf(!E2E_ON_POSTGRES)("a PostgreSQL connection terminated in the middle of a transaction", () => {
  const dir = mkdtempSync(join(tmpdir(), "kakaopay-gw-"));
  let gw: GatewayProcess | undefined;
  let admin: pg.Client | undefined;
  afterAll(async () => {
    await admin?.end();
    gw?.child.kill("SIGKILL");
    await gw?.exited;
    await dropTestSchema(schemaFor(dir));
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the process running, and still acknowledges and applies the webhook that transaction was applying", async () => {
    const databaseUrl = await testSchemaUrl(schemaFor(dir));
    gw = await startGatewayProcess(dir, { DATABASE_URL: databaseUrl });
    const input = {
      amount: { value: 4_000, currency: "KRW" },
      reference: "terminated-mid-transaction",
      returnUrl: "https://shop.example/r",
    };
    const payment = (await graphqlRequest(gw.url, StartKakaoPayPaymentDocument, { input })).data!.startKakaoPayPayment;

    // Hold the payment's row lock, so that applying the webhook waits inside its transaction on a pooled connection.
    admin = new pg.Client({ connectionString: withUser(databaseUrl) });
    await admin.connect();
    const adminPid = (await admin.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
    await admin.query("begin");
    await admin.query("select id from payments where id = $1 for update", [payment.id]);
    const body = notificationBody([
      signedItem({
        eventCode: "AUTHORISATION",
        pspReference: payment.pspReference!,
        merchantReference: input.reference,
        amount: input.amount,
      }),
    ]);
    // A known payment's webhook is stored and applied in one statement, so the answer waits for the row lock too.
    const answer = postWebhook(gw.url, body);
    // Only the backend our lock blocks: a restart or an operator's pg_terminate_backend, as far as the gateway knows.
    const blocked = await eventually(async () => {
      const { rows } = await admin!.query<{ pid: number }>("select pid from pg_stat_activity where $1 = any(pg_blocking_pids(pid))", [
        adminPid,
      ]);
      expect(rows).toHaveLength(1);
      return rows[0]!.pid;
    });
    await admin.query("select pg_terminate_backend($1)", [blocked]);
    await admin.query("rollback");
    // The statement failed with its connection and wrote nothing: the item is stored alone, acknowledged, then applied.
    expect(await answer).toEqual({ status: 200, text: "[accepted]" });

    const running = gw;
    await eventually(async () => {
      expect(running.child.exitCode, running.output.join("\n")).toBeNull();
      const { data } = await graphqlRequest(running.url, PaymentDocument, { id: payment.id });
      expect(data?.payment?.status).toBe("AUTHORISED");
    }, 30_000);
    expect(running.child.exitCode).toBeNull();
  }, 60_000);
});
