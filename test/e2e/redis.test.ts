import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { print } from "graphql";
import { type Client, createClient } from "graphql-ws";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ConfigError, loadConfig } from "../../src/config.js";
import {
  PaymentRefundsDocument,
  RefundEventsDocument,
  type RefundEventsSubscription,
  RefundPaymentDocument,
  StartKakaoPayPaymentDocument,
} from "../generated/graphql.js";
import { ALPHA_KEY, chooseOutcome, eventually, TestGateway } from "../support/gateway.js";
import { type GatewayProcess, startGatewayProcess } from "../support/process.js";
import { PrivateRedis, REDIS_SERVER_ON_PATH, TcpProxy, TEST_REDIS_URL } from "../support/redis.js";

if (!TEST_REDIS_URL) console.warn("Redis: TEST_REDIS_URL is not set: the tests on a shared Redis are skipped");
if (!REDIS_SERVER_ON_PATH) console.warn("Redis: redis-server is not on PATH: the tests that restart their own Redis are skipped");

const AMOUNT = 9000;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  // Last started, first stopped: the processes before the directory they share.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "kakaopay-redis-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Instance A in this process (with its simulator, which sends webhooks to A only), on the shared database. */
async function instanceA(dir: string, redisUrl: string): Promise<TestGateway> {
  const a = await TestGateway.start({ REDIS_URL: redisUrl, SIMULATOR_WEBHOOK_DELAY_MS: "20" }, dir);
  cleanups.push(() => a.close({ keepData: true }));
  return a;
}

/** Instance B: another process on A's database (its SQLite file, or its PostgreSQL schema) and Redis. */
async function instanceB(a: TestGateway, redisUrl: string): Promise<GatewayProcess> {
  const b = await startGatewayProcess(a.dir, { REDIS_URL: redisUrl, DATABASE_URL: a.databaseUrl });
  cleanups.push(async () => {
    b.child.kill("SIGKILL");
    await b.exited;
  });
  return b;
}

function wsClient(url: string): Client {
  const client = createClient({
    url: `${url.replace("http", "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${ALPHA_KEY}` },
    retryAttempts: 0,
    lazy: true,
  });
  cleanups.push(() => client.dispose());
  return client;
}

type Change = RefundEventsSubscription["paymentStatusChanged"];

/** Every change of one payment from version 1 on, as a subscriber on the given socket receives it. */
function watch(client: Client, paymentId: string): { changes: Change[]; errors: unknown[] } {
  const changes: Change[] = [];
  const errors: unknown[] = [];
  client.subscribe<RefundEventsSubscription>(
    { query: print(RefundEventsDocument), variables: { paymentId, afterVersion: 0 } },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        if (result.data) changes.push(result.data.paymentStatusChanged);
      },
      error: (error) => errors.push(error),
      complete: () => {},
    },
  );
  return { changes, errors };
}

async function startPayment(a: TestGateway, reference: string) {
  const started = await a.data(StartKakaoPayPaymentDocument, {
    input: { amount: { value: AMOUNT, currency: "KRW" }, reference, returnUrl: "https://shop.example/r" },
  });
  return started.startKakaoPayPayment;
}

async function history(a: TestGateway, id: string) {
  const data = await a.data(PaymentRefundsDocument, { id });
  if (!data.payment) throw new Error("payment not found");
  return data.payment;
}

async function readyz(url: string): Promise<number> {
  return (await fetch(`${url}/readyz`)).status;
}

/** What a subscriber must have received: exactly the payment's recorded changes, in version order. */
function asRecorded(events: Awaited<ReturnType<typeof history>>["events"]) {
  return events.map((e) => ({ version: e.version, status: e.status, refundStatus: e.refundStatus ?? null, refund: e.refund?.id ?? null }));
}

function asReceived(changes: Change[]) {
  return changes.map((c) => ({ version: c.version, status: c.status, refundStatus: c.refundStatus ?? null, refund: c.refund?.id ?? null }));
}

describe.skipIf(!TEST_REDIS_URL)("two instances through the shared Redis (TEST_REDIS_URL)", () => {
  it("a subscriber on instance B receives, in order and once, every change applied on instance A", async () => {
    const dir = tempDir();
    const a = await instanceA(dir, TEST_REDIS_URL!);
    const b = await instanceB(a, TEST_REDIS_URL!);
    const client = wsClient(b.url);

    const payments = await Promise.all([1, 2, 3].map((i) => startPayment(a, `two-instances-${Date.now()}-${i}`)));
    const watchers = payments.map((p) => watch(client, p.id));
    // Version 1 replayed: each subscription on B is live from here on.
    await eventually(async () => expect(watchers.every((w) => w.changes.length === 1)).toBe(true), 20_000);

    // On A: the shopper pays (AUTHORISATION webhook), then three partial refunds, each PENDING then SUCCEEDED.
    for (const p of payments) await chooseOutcome((p.action as { url: string }).url, "authorised");
    for (const p of payments) await eventually(async () => expect((await history(a, p.id)).status).toBe("AUTHORISED"), 20_000);
    for (const p of payments) {
      for (let i = 0; i < 3; i++) {
        const refund = await a.request(RefundPaymentDocument, { input: { paymentId: p.id, amount: { value: 1000, currency: "KRW" } } });
        expect(refund.errors).toBeUndefined();
      }
    }
    for (const [i, p] of payments.entries()) {
      const recorded = await eventually(async () => {
        const h = await history(a, p.id);
        expect(h.refunds.map((r) => r.status)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
        return h;
      }, 20_000);
      expect(recorded.version).toBe(8);
      const watcher = watchers[i]!;
      await eventually(async () => expect(watcher.changes.length).toBeGreaterThanOrEqual(8), 20_000);
      expect(watcher.errors).toEqual([]);
      expect(watcher.changes.map((c) => c.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(asReceived(watcher.changes)).toEqual(asRecorded(recorded.events));
    }
  }, 90_000);
});

describe.skipIf(!REDIS_SERVER_ON_PATH)("a Redis of our own, stopped and restarted (redis-server on PATH)", () => {
  it("while Redis is away /readyz answers 503 and changes still commit; once back, 200 subscribers on B have every change, no gap, no duplicate", async () => {
    const redis = await PrivateRedis.start();
    cleanups.push(() => redis.stop());
    const dir = tempDir();
    const a = await instanceA(dir, redis.url);
    const b = await instanceB(a, redis.url);
    expect(await readyz(a.url)).toBe(200);
    expect(await readyz(b.url)).toBe(200);

    const payments = await Promise.all(Array.from({ length: 20 }, (_, i) => startPayment(a, `restart-${Date.now()}-${i}`)));
    const clients = Array.from({ length: 10 }, () => wsClient(b.url));
    // 10 subscribers per payment, spread over 10 sockets: 200 in all.
    const watchers = payments.flatMap((p) => clients.map((client) => ({ paymentId: p.id, ...watch(client, p.id) })));
    expect(watchers).toHaveLength(200);
    await eventually(async () => expect(watchers.every((w) => w.changes.length === 1)).toBe(true), 30_000);

    await redis.stop();
    await eventually(async () => {
      expect(await readyz(a.url)).toBe(503);
      expect(await readyz(b.url)).toBe(503);
    });
    // Committed on A while nothing can be published: B must still learn of it.
    for (const p of payments) await chooseOutcome((p.action as { url: string }).url, "authorised");
    for (const p of payments) await eventually(async () => expect((await history(a, p.id)).status).toBe("AUTHORISED"), 20_000);
    expect(a.lines.filter((line) => line.includes("Redis publish failed")).length).toBeGreaterThanOrEqual(1);
    // Rate-limited: not one line per failed publish.
    expect(a.lines.filter((line) => line.includes("Redis publish failed")).length).toBeLessThan(payments.length);
    expect(b.child.exitCode).toBeNull();

    await redis.restart();
    await eventually(async () => {
      expect(await readyz(a.url)).toBe(200);
      expect(await readyz(b.url)).toBe(200);
    }, 20_000);
    // Nothing rings for version 2 any more: B re-reads it from the store because its connection came back.
    await eventually(async () => expect(watchers.every((w) => w.changes.length >= 2)).toBe(true), 30_000);

    // And the doorbell works again: a refund on each payment, PENDING then SUCCEEDED.
    for (const p of payments) {
      const refund = await a.request(RefundPaymentDocument, { input: { paymentId: p.id, amount: { value: 1000, currency: "KRW" } } });
      expect(refund.errors).toBeUndefined();
    }
    const recorded = new Map<string, Awaited<ReturnType<typeof history>>>();
    for (const p of payments) {
      recorded.set(
        p.id,
        await eventually(async () => {
          const h = await history(a, p.id);
          expect(h.refunds.map((r) => r.status)).toEqual(["SUCCEEDED"]);
          return h;
        }, 20_000),
      );
    }
    await eventually(async () => expect(watchers.every((w) => w.changes.length >= 4)).toBe(true), 30_000);
    for (const w of watchers) {
      expect(w.errors).toEqual([]);
      expect(w.changes.map((c) => c.version)).toEqual([1, 2, 3, 4]);
      expect(asReceived(w.changes)).toEqual(asRecorded(recorded.get(w.paymentId)!.events));
    }
  }, 180_000);
});

describe.skipIf(!REDIS_SERVER_ON_PATH)("one instance cut off Redis while the others stay connected (redis-server on PATH)", () => {
  it("a change committed on A while only A was cut off reaches B's subscriber once A is back, with nothing else changing", async () => {
    const redis = await PrivateRedis.start();
    cleanups.push(() => redis.stop());
    const proxy = await TcpProxy.start(redis.port);
    cleanups.push(() => proxy.stop());
    const dir = tempDir();
    // A reaches Redis through the proxy, B directly.
    const a = await instanceA(dir, `redis://127.0.0.1:${proxy.port}`);
    const b = await instanceB(a, redis.url);

    const p = await startPayment(a, `cut-off-${Date.now()}`);
    const watcher = watch(wsClient(b.url), p.id);
    await eventually(async () => expect(watcher.changes.map((c) => c.version)).toEqual([1]), 20_000);

    await proxy.stop();
    await eventually(async () => expect(await readyz(a.url)).toBe(503));
    expect(await readyz(b.url)).toBe(200);
    await chooseOutcome((p.action as { url: string }).url, "authorised");
    const recorded = await eventually(async () => {
      const h = await history(a, p.id);
      expect(h.status).toBe("AUTHORISED");
      return h;
    }, 20_000);

    await proxy.restart();
    await eventually(async () => expect(await readyz(a.url)).toBe(200), 20_000);
    // B's connection never dropped, so B does not re-read by itself: A must ring the doorbell it could not ring.
    await eventually(async () => expect(watcher.changes.length).toBeGreaterThanOrEqual(2), 20_000);
    expect(watcher.errors).toEqual([]);
    expect(asReceived(watcher.changes)).toEqual(asRecorded(recorded.events));
  }, 90_000);
});

describe("REDIS_URL", () => {
  it.each(["http://127.0.0.1:6379", "redis//127.0.0.1", "redis://", "redis://127.0.0.1:6379/not-a-db", "redis://:s3cret-pass@/0"])(
    "refuses %s, naming the variable and never the password",
    (value) => {
      let error: unknown = null;
      try {
        loadConfig({ REDIS_URL: value });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe("REDIS_URL");
      expect((error as ConfigError).message).not.toContain("s3cret-pass");
    },
  );

  it("accepts redis:// and rediss:// URLs, with a password and a database number", () => {
    expect(loadConfig({ REDIS_URL: "redis://127.0.0.1:6379" }).redisUrl).toBe("redis://127.0.0.1:6379");
    expect(loadConfig({ REDIS_URL: "rediss://user:pw@cache.example:6380/2" }).redisUrl).toBe("rediss://user:pw@cache.example:6380/2");
    expect(loadConfig({}).redisUrl).toBeNull();
  });

  it("stops the process with one line naming REDIS_URL, without its password, when no Redis answers at start", () => {
    // Port 1 on loopback: nothing listens there.
    const result = spawnSync(process.execPath, ["dist/src/main.js"], {
      env: {
        PATH: process.env.PATH,
        PORT: "0",
        DATABASE_URL: `file:${join(tempDir(), "gateway.db")}`,
        REDIS_URL: "redis://:s3cret-pass@127.0.0.1:1",
      },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    // One JSON log line, like every other (README "Operating it"); the embedded simulator's start line comes before it.
    expect(result.stderr).toBe("");
    const errors = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { level: string; variable?: string; msg: string })
      .filter((line) => line.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ level: "error", variable: "REDIS_URL" });
    expect(errors[0]!.msg).toMatch(/^Configuration error: REDIS_URL /);
    expect(result.stderr + result.stdout).not.toContain("s3cret-pass");
  });
});
