import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "graphql-ws";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { StartKakaoPayPaymentDocument } from "../generated/graphql.js";
import { chooseOutcome, eventually, TestGateway } from "../support/gateway.js";
import { type GatewayProcess, startGatewayProcess } from "../support/process.js";
import { PrivateRedis, REDIS_SERVER_ON_PATH, TcpProxy } from "../support/redis.js";
import { asReceived, asRecorded, paymentHistory, watch, wsClient as createWsClient } from "../support/subscriptions.js";

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
  const client = createWsClient(url);
  cleanups.push(() => client.dispose());
  return client;
}

async function startPayment(a: TestGateway, reference: string) {
  const started = await a.data(StartKakaoPayPaymentDocument, {
    input: { amount: { value: AMOUNT, currency: "KRW" }, reference, returnUrl: "https://shop.example/r" },
  });
  return started.startKakaoPayPayment;
}

async function readyz(url: string): Promise<number> {
  return (await fetch(`${url}/readyz`)).status;
}

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
      const h = await paymentHistory(a.url, p.id);
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
