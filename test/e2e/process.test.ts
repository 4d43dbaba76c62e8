import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { print } from "graphql";
import { createClient } from "graphql-ws";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  PaymentDocument,
  PaymentStatusChangedDocument,
  StartKakaoPayPaymentDocument,
  type StartKakaoPayPaymentMutation,
} from "../generated/graphql.js";
import { ALPHA_KEY, eventually, graphqlRequest, tableRows } from "../support/gateway.js";
import { freePort, type GatewayProcess, spawnGateway, startGatewayProcess } from "../support/process.js";
import { notificationBody, postWebhook, signedItem } from "../support/webhooks.js";

const dirs: string[] = [];
const children: Array<Pick<GatewayProcess, "child">> = [];
const blockers: Server[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.child.kill("SIGKILL");
  for (const blocker of blockers.splice(0)) blocker.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function gateway(dir: string, env: Record<string, string> = {}) {
  const started = await startGatewayProcess(dir, env);
  children.push(started);
  return started;
}

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), "kakaopay-process-"));
  dirs.push(dir);
  return dir;
}

const paymentInput = (reference: string) => ({
  amount: { value: 1000, currency: "KRW" },
  reference,
  returnUrl: "https://shop.example/r",
  idempotencyKey: reference,
});

describe("crash safety", () => {
  it("applies every acknowledged webhook exactly once after SIGKILL mid-burst, and leaves no payment half-written", async () => {
    const dir = tempDir();
    const first = await gateway(dir);

    const payments: Array<StartKakaoPayPaymentMutation["startKakaoPayPayment"]> = [];
    for (let i = 0; i < 60; i++) {
      const result = await graphqlRequest(first.url, StartKakaoPayPaymentDocument, { input: paymentInput(`crash-${i}`) });
      payments.push(result.data!.startKakaoPayPayment);
    }

    const acked = new Set<string>();
    let killed = false;
    const kill = () => {
      if (!killed) {
        killed = true;
        first.child.kill("SIGKILL");
      }
    };
    // Five senders at a time, as Adyen's delivery does: the kill then lands mid-burst however fast the machine is
    // (sixty at once could all be acknowledged in one group commit before the test saw the twentieth answer).
    const queue = [...payments];
    const sender = async () => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        const body = notificationBody([
          signedItem({
            eventCode: "AUTHORISATION",
            pspReference: p.pspReference!,
            merchantReference: p.reference,
            amount: { value: 1000, currency: "KRW" },
          }),
        ]);
        try {
          const result = await postWebhook(first.url, body);
          if (result.status === 200 && result.text === "[accepted]") acked.add(p.id);
          if (acked.size >= 20) kill();
        } catch {
          // The connection died with the process: Adyen would retry this one.
        }
      }
    };
    const webhooks = Array.from({ length: 5 }, sender);
    // Payments started while the process dies: each is either absent or whole afterwards.
    const starts = Array.from({ length: 20 }, (_, i) =>
      graphqlRequest(first.url, StartKakaoPayPaymentDocument, { input: paymentInput(`mid-crash-${i}`) }).catch(() => null),
    );
    await Promise.all([...webhooks, ...starts]);
    kill();
    expect((await first.exited).signal).toBe("SIGKILL");
    expect(acked.size).toBeGreaterThanOrEqual(20);
    expect(acked.size).toBeLessThan(60);

    const second = await gateway(dir);
    const payIds = new Set(payments.map((p) => p.id));
    const events = await tableRows({ dir }, "payment_events");
    const rows = await tableRows({ dir }, "payments");
    for (const id of acked) {
      const row = rows.find((r) => r.id === id)!;
      expect(row).toMatchObject({ status: "AUTHORISED", version: 2 });
      expect(events.filter((e) => e.payment_id === id).map((e) => [e.version, e.status])).toEqual([
        [1, "ACTION_REQUIRED"],
        [2, "AUTHORISED"],
      ]);
    }
    for (const row of rows) {
      const own = events.filter((e) => e.payment_id === row.id).map((e) => e.version);
      // Never half-written: the version is exactly the number of recorded changes, 1..n.
      expect(own).toEqual(Array.from({ length: row.version as number }, (_, i) => i + 1));
      if (row.version === 0) expect(row.status).toBeNull();
      if (payIds.has(row.id as string)) expect(row.version).toBeLessThanOrEqual(2);
    }
    const inbox = await tableRows({ dir }, "notification_inbox");
    expect(inbox.every((r) => r.applied_at !== null)).toBe(true);
    expect(new Set(inbox.map((r) => r.psp_reference)).size).toBe(inbox.length);

    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);
  });
});

describe("graceful shutdown", () => {
  it("on SIGTERM finishes in-flight requests, closes WebSockets with 1001, and exits 0", async () => {
    const dir = tempDir();
    const gw = await gateway(dir);
    const started = await graphqlRequest(gw.url, StartKakaoPayPaymentDocument, { input: paymentInput("before-term") });
    const paymentId = started.data!.startKakaoPayPayment.id;

    let closeCode = 0;
    const socketClosed = new Promise<void>((resolve) => {
      const client = createClient({
        url: `${gw.url.replace("http", "ws")}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${ALPHA_KEY}` },
        retryAttempts: 0,
        on: {
          closed: (event) => {
            closeCode = (event as { code: number }).code;
            resolve();
          },
        },
      });
      client.subscribe(
        { query: print(PaymentStatusChangedDocument), variables: { paymentId, afterVersion: 0 } },
        { next: () => {}, error: () => {}, complete: () => {} },
      );
    });

    // Adyen answers slowly, so the payment below is still in flight when SIGTERM arrives.
    await fetch(`${gw.simulatorUrl}/__control`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ action: "setFaults", faults: { mode: "slow", slowMs: 1500 } }),
    });
    const inFlight = graphqlRequest(gw.url, StartKakaoPayPaymentDocument, { input: paymentInput("in-flight") });
    await new Promise((resolve) => setTimeout(resolve, 300));
    gw.child.kill("SIGTERM");

    const result = await inFlight;
    expect(result.data?.startKakaoPayPayment.status).toBe("ACTION_REQUIRED");
    await socketClosed;
    expect(closeCode).toBe(1001);
    expect(await gw.exited).toEqual({ code: 0, signal: null });
    await expect(fetch(`${gw.url}/healthz`)).rejects.toThrow();
    // Flushed: the database file alone (WAL folded back) holds the in-flight payment.
    expect((await tableRows({ dir }, "payments")).some((r) => r.reference === "in-flight" && r.status === "ACTION_REQUIRED")).toBe(true);
  });
});

/** Runs the gateway to its exit (it is expected to refuse to start). */
async function failedStart(dir: string, env: Record<string, string>) {
  const run = spawnGateway(dir, env);
  children.push(run);
  const { code } = await run.exited;
  return { code, output: run.output };
}

/** A stack frame, as a raw Node trace prints it. */
const STACK_FRAME = /^\s+at /;

describe("start-up failures", () => {
  async function occupy(port: number) {
    const blocker = createServer();
    blockers.push(blocker);
    await new Promise<void>((resolve) => blocker.listen(port, "127.0.0.1", resolve));
  }

  it("a busy PORT stops the start with one line naming PORT and exit 1", async () => {
    const port = await freePort();
    await occupy(port);
    const { code, output } = await failedStart(tempDir(), { PORT: String(port), SIMULATOR_PORT: String(await freePort()) });
    expect(code).toBe(1);
    expect(output).toHaveLength(1);
    expect(output[0]).toMatch(/\bPORT\b/);
    expect(output[0]).not.toMatch(/SIMULATOR_PORT/);
  });

  it("a busy simulator port stops the start with one line naming SIMULATOR_PORT and exit 1", async () => {
    const simulatorPort = await freePort();
    await occupy(simulatorPort);
    const { code, output } = await failedStart(tempDir(), { PORT: "0", SIMULATOR_PORT: String(simulatorPort) });
    expect(code).toBe(1);
    expect(output).toHaveLength(1);
    expect(output[0]).toMatch(/SIMULATOR_PORT/);
  });

  it("a corrupt database file stops the start with one line naming DATABASE_URL, before anything listens", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "gateway.db"), "this is not a SQLite database, just garbage ".repeat(200));
    const { code, output } = await failedStart(dir, {});
    expect(code).toBe(1);
    expect(output).toHaveLength(1);
    expect(output[0]).toMatch(/DATABASE_URL/);
    expect(output.some((line) => STACK_FRAME.test(line) || /simulator/i.test(line))).toBe(false);
  });

  it("a database path that cannot be created stops the start with one line naming DATABASE_URL", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "not-a-directory"), "");
    const { code, output } = await failedStart(dir, { DATABASE_URL: `file:${join(dir, "not-a-directory", "gateway.db")}` });
    expect(code).toBe(1);
    expect(output).toHaveLength(1);
    expect(output[0]).toMatch(/DATABASE_URL/);
  });
});

describe("start-up", () => {
  it("answers every request that arrives while it starts (200 or 503), none left hanging", async () => {
    const port = await freePort();
    const run = spawnGateway(tempDir(), { PORT: String(port), SIMULATOR_PORT: String(await freePort()) });
    children.push(run);
    const url = `http://127.0.0.1:${port}`;
    const statuses: number[] = [];
    const hung: string[] = [];
    const started = () => run.output.some((line) => line.includes("KakaoPay gateway on"));
    const attempt = async (path: string, init: RequestInit = {}) => {
      try {
        // Generous: start-up compiles the schema and the simulator's spec, which holds a loaded machine's event loop.
        const response = await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(30_000) });
        statuses.push(response.status);
        await response.arrayBuffer();
      } catch (error) {
        // Refused: nothing listens yet. Anything else (a timeout) is a request left hanging.
        const cause = (error as { cause?: { code?: string } }).cause;
        if (cause?.code !== "ECONNREFUSED") hung.push(`${path}: ${String(error)} ${cause?.code ?? ""}`);
      }
    };
    const deadline = Date.now() + 60_000;
    while (!started() && Date.now() < deadline) {
      await Promise.all([
        attempt("/healthz"),
        attempt("/graphql", {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${ALPHA_KEY}` },
          body: JSON.stringify({ query: "{ __typename }" }),
        }),
      ]);
    }
    expect(started()).toBe(true);
    await attempt("/healthz");
    expect(hung).toEqual([]);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((status) => status === 200 || status === 503)).toBe(true);
  }, 120_000);
});

describe("npm start", () => {
  it("SIGTERM to the npm start process reaches the gateway: it stops and frees its ports", async () => {
    const dir = tempDir();
    // --ignore-scripts skips only prestart (the build `npm test` already ran, which would rewrite dist/ under the
    // other test files' processes); the start script and npm's handling of the signal are the real ones.
    const gw = await startGatewayProcess(dir, {}, ["npm", "start", "--ignore-scripts"]);
    children.push(gw);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    gw.child.kill("SIGTERM");
    await gw.exited;
    const refused = async (url: string) => {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        try {
          await fetch(url, { signal: AbortSignal.timeout(2_000) });
        } catch {
          return true;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return false;
    };
    expect(await refused(`${gw.url}/healthz`)).toBe(true);
    expect(await refused(`${gw.simulatorUrl}/`)).toBe(true);
    // The gateway stopped through its graceful path, not by being orphaned and killed.
    expect(gw.output.some((line) => line.includes('"signal":"SIGTERM"') && line.includes("finishing in-flight requests"))).toBe(true);
  }, 60_000);
});

describe("shutdown with a slow client", () => {
  it("cuts requests that make no progress, still drains and closes the store, and exits 0", async () => {
    const dir = tempDir();
    const gw = await gateway(dir);
    await graphqlRequest(gw.url, StartKakaoPayPaymentDocument, { input: paymentInput("before-slow-client") });
    const { port } = new URL(gw.url);
    const stalled = await Promise.all(
      [
        // Headers sent, body promised but only half sent.
        'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"query":',
        // Headers never finished.
        "GET /healthz HTTP/1.1\r\nHost: x\r\n",
      ].map(
        (partial) =>
          new Promise<ReturnType<typeof connect>>((resolve) => {
            const socket = connect(Number(port), "127.0.0.1", () => socket.write(partial, () => resolve(socket)));
            socket.on("error", () => {});
          }),
      ),
    );
    // The gateway has the half-sent request in hand before the signal.
    await new Promise((resolve) => setTimeout(resolve, 200));
    gw.child.kill("SIGTERM");
    expect(await gw.exited).toEqual({ code: 0, signal: null });
    for (const socket of stalled) socket.destroy();
    // The store was closed: the WAL was folded back and removed, the payment is in the database file.
    expect(existsSync(join(dir, "gateway.db-wal"))).toBe(false);
    expect((await tableRows({ dir }, "payments")).some((r) => r.reference === "before-slow-client")).toBe(true);
  }, 40_000);
});

describe("the newcomer's first ten minutes (simulator mode, no GATEWAY_API_KEYS)", () => {
  const devKeyOf = (output: string[]) => output.map((line) => /Authorization: Bearer (dev_[^\s"]+)/.exec(line)?.[1]).find(Boolean);
  // The key is printed just after the lines that tell the test the process serves.
  const printedDevKey = (started: GatewayProcess) =>
    eventually(async () => {
      const key = devKeyOf(started.output);
      expect(key).toBeTruthy();
      return key!;
    });

  it("keeps the generated dev key and client-secret key across restarts, owner-only beside the database, and names the key's file when unauthenticated", async () => {
    const dir = tempDir();
    const unset = { GATEWAY_API_KEYS: "", CLIENT_SECRET_KEY: "" };
    const first = await gateway(dir, unset);
    const devKey = await printedDevKey(first);
    const started = await graphqlRequest(first.url, StartKakaoPayPaymentDocument, { input: paymentInput("newcomer") }, devKey!);
    const payment = started.data!.startKakaoPayPayment;
    first.child.kill("SIGTERM");
    expect((await first.exited).code).toBe(0);

    const second = await gateway(dir, unset);
    expect(await printedDevKey(second)).toBe(devKey);
    // The Sandbox header and the app's client secret from before the restart both still work.
    const again = await graphqlRequest(second.url, PaymentDocument, { id: payment.id }, devKey!);
    expect(again.data?.payment?.clientSecret).toBe(payment.clientSecret);
    const byApp = await graphqlRequest(second.url, PaymentDocument, { id: payment.id }, payment.clientSecret!);
    expect(byApp.data?.payment?.id).toBe(payment.id);

    const file = join(dir, "dev-api-key");
    expect(readFileSync(file, "utf8").trim()).toBe(devKey);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "client-secret-key")).mode & 0o777).toBe(0o600);
    const refused = await graphqlRequest(second.url, PaymentDocument, { id: payment.id }, null);
    expect(refused.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(refused.errors?.[0]?.message).toContain(file);
    expect(refused.errors?.[0]?.message).not.toContain(devKey!);
  });

  it("writes nothing when the keys come from the environment", async () => {
    const dir = tempDir();
    const started = await gateway(dir);
    expect(devKeyOf(started.output)).toBeUndefined();
    expect(readdirSync(dir).filter((name) => !name.startsWith("gateway.db"))).toEqual([]);
  });
});
