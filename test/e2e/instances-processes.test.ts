import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "graphql-ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { SimulatorStats } from "../../src/simulator/control.js";
import {
  PaymentDocument,
  RefundPaymentDocument,
  StartKakaoPayPaymentDocument,
  type StartKakaoPayPaymentMutation,
  SubmitPaymentDetailsDocument,
} from "../generated/graphql.js";
import { dropTestSchema, E2E_ON_POSTGRES, schemaFor, testSchemaUrl } from "../support/database.js";
import { chooseOutcome, eventually, graphqlRequest } from "../support/gateway.js";
import { scrape } from "../support/metrics.js";
import { freePorts, GATEWAY_SERVES, type Spawned, served, spawnGateway, startSimulatorProcess } from "../support/process.js";
import { listenToDoorbells, PrivateRedis, REDIS_SERVER_ON_PATH, TEST_REDIS_URL } from "../support/redis.js";
import { asReceived, asRecorded, paymentHistory, watch, wsClient } from "../support/subscriptions.js";
import { notificationBody, postWebhook, signedItem } from "../support/webhooks.js";

const ADYEN_API_KEY = "processes-adyen-key-0123456789";

if (E2E_ON_POSTGRES && !TEST_REDIS_URL)
  console.warn("Redis: TEST_REDIS_URL is not set: the two-instance tests on a shared Redis are skipped");
if (E2E_ON_POSTGRES && !REDIS_SERVER_ON_PATH) console.warn("Redis: redis-server is not on PATH: the Redis restart test is skipped");

/** One gateway process: its GraphQL URL and its Prometheus listener's. */
interface Instance extends Spawned {
  url: string;
  metricsUrl: string;
}

/**
 * Instances A and B, real `node dist/src/main.js` processes each on its own port, started at the same moment on one
 * fresh PostgreSQL schema and one Redis, with the simulator in a process of its own sending its webhooks to A
 * (docs/contract.md, Running several instances). SQLite serves one instance.
 */
async function startInstances(redisUrl: string) {
  const dir = mkdtempSync(join(tmpdir(), "kakaopay-gw-"));
  const schema = schemaFor(dir);
  const databaseUrl = await testSchemaUrl(schema);
  const children: Spawned[] = [];
  const close = async () => {
    for (const run of children) run.child.kill("SIGKILL");
    await Promise.all(children.map((run) => run.exited));
    await dropTestSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  };
  const [portA, portB, metricsA, metricsB] = (await freePorts(4)) as [number, number, number, number];
  const start = async (port: number, metricsPort: number): Promise<Instance> => {
    const run = spawnGateway(dir, {
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      SIMULATOR_URL: simulatorUrl,
      ADYEN_API_KEY,
    });
    children.push(run);
    return { ...run, url: await served(run, GATEWAY_SERVES), metricsUrl: `http://127.0.0.1:${metricsPort}` };
  };
  let simulatorUrl = "";
  try {
    const simulator = await startSimulatorProcess({
      ADYEN_API_KEY,
      SIMULATOR_WEBHOOK_URL: `http://127.0.0.1:${portA}/webhooks/adyen`,
      SIMULATOR_WEBHOOK_DELAY_MS: "20",
    });
    children.push(simulator);
    simulatorUrl = simulator.url;
    const [a, b] = await Promise.all([start(portA, metricsA), start(portB, metricsB)]);
    return {
      simulatorUrl,
      a,
      b,
      /** A again, on its port (the simulator's webhooks go there), after it was killed. */
      restartA: () => start(portA, metricsA),
      close,
    };
  } catch (error) {
    // No process outlives a start that failed half-way.
    await close();
    throw error;
  }
}

/** The simulator's control plane over HTTP (src/simulator/control.ts). */
async function simulatorStats(simulatorUrl: string): Promise<SimulatorStats> {
  return (await (await fetch(`${simulatorUrl}/__control/stats`)).json()) as SimulatorStats;
}

async function simulatorControl(simulatorUrl: string, command: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${simulatorUrl}/__control`, { method: "POST", body: JSON.stringify(command) });
  if (response.status !== 200) throw new Error(`simulator control answered ${response.status}: ${await response.text()}`);
}

async function startPayment(url: string, reference: string, value = 9_000) {
  const input = { amount: { value, currency: "KRW" }, reference, returnUrl: "https://shop.example/r" };
  const { data, errors } = await graphqlRequest(url, StartKakaoPayPaymentDocument, { input });
  if (!data) throw new Error(`startKakaoPayPayment failed: ${JSON.stringify(errors)}`);
  return data.startKakaoPayPayment;
}

async function refund(url: string, paymentId: string): Promise<void> {
  const { errors } = await graphqlRequest(url, RefundPaymentDocument, { input: { paymentId, amount: { value: 1000, currency: "KRW" } } });
  expect(errors).toBeUndefined();
}

async function readyz(url: string): Promise<number> {
  return (await fetch(`${url}/readyz`)).status;
}

/** A metric summed over both instances, scraped from each one's METRICS_PORT. */
async function summed(instances: Instance[], name: string, labels: Record<string, string>): Promise<number> {
  const values = await Promise.all(instances.map((instance) => scrape(instance.metricsUrl, name, labels)));
  return values.reduce((sum, v) => sum + v, 0);
}

const sockets: Client[] = [];
afterEach(async () => {
  await Promise.all(sockets.splice(0).map((client) => client.dispose()));
});

function socket(url: string): Client {
  const client = wsClient(url);
  sockets.push(client);
  return client;
}

describe.skipIf(!E2E_ON_POSTGRES || !TEST_REDIS_URL)("two gateway processes on one PostgreSQL schema and one Redis", () => {
  let instances: Awaited<ReturnType<typeof startInstances>>;
  let doorbells: Awaited<ReturnType<typeof listenToDoorbells>>;

  beforeAll(async () => {
    doorbells = await listenToDoorbells(TEST_REDIS_URL!);
    instances = await startInstances(TEST_REDIS_URL!);
  }, 60_000);
  afterAll(async () => {
    doorbells?.close();
    await instances?.close();
  });

  it("a subscriber on B, and one on A, receive in order and once every change: started on A, details on B, webhooks to A", async () => {
    const { a, b } = instances;
    const payments = await Promise.all([1, 2, 3].map((i) => startPayment(a.url, `both-ways-${i}`)));
    const watchers = payments.flatMap((p) => [a, b].map((instance) => ({ paymentId: p.id, ...watch(socket(instance.url), p.id) })));
    // Version 1 replayed: each subscription is live from here on.
    await eventually(async () => expect(watchers.every((w) => w.changes.length === 1)).toBe(true), 20_000);

    // The shopper pays; the app submits the redirect details on B; the simulator's AUTHORISATION goes to A.
    for (const p of payments) {
      const { redirectResult } = await chooseOutcome((p.action as { url: string }).url, "authorised");
      const { data, errors } = await graphqlRequest(b.url, SubmitPaymentDetailsDocument, {
        input: { paymentId: p.id, details: { redirectResult } },
      });
      expect(errors).toBeUndefined();
      expect(data!.submitPaymentDetails.status).toBe("AUTHORISED");
    }
    // Three partial refunds, asked of A, B and A; each REFUND webhook goes to A.
    for (const p of payments) for (const instance of [a, b, a]) await refund(instance.url, p.id);

    for (const p of payments) {
      const recorded = await eventually(async () => {
        const h = await paymentHistory(b.url, p.id);
        expect(h.refunds.map((r) => r.status)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
        return h;
      }, 20_000);
      // ACTION_REQUIRED, AUTHORISED, then PENDING and SUCCEEDED for each refund.
      expect(recorded.events).toHaveLength(8);
      for (const w of watchers.filter((w) => w.paymentId === p.id)) {
        await eventually(async () => expect(w.changes.length).toBeGreaterThanOrEqual(8), 20_000);
        expect(w.errors).toEqual([]);
        expect(asReceived(w.changes)).toEqual(asRecorded(recorded.events));
      }
    }
  }, 120_000);

  it("gives one payment and one Adyen call for one idempotencyKey sent to A and B at once, 50 times", async () => {
    const { a, b, simulatorUrl } = instances;
    for (let round = 0; round < 50; round++) {
      const input = {
        amount: { value: 5_000, currency: "KRW" },
        reference: `two-instances-${round}`,
        returnUrl: "https://shop.example/r",
        idempotencyKey: `two-instances-key-${round}`,
      };
      // Now and then Adyen is slow, so that the second instance arrives while the first waits for it.
      if (round % 10 === 0) await simulatorControl(simulatorUrl, { action: "setFaults", faults: { mode: "slow", slowMs: 300, count: 1 } });
      const before = await simulatorStats(simulatorUrl);
      const results = await Promise.all(
        [a, b].map(async (instance) => {
          const { data, errors } = await graphqlRequest(instance.url, StartKakaoPayPaymentDocument, { input });
          expect(errors).toBeUndefined();
          return data!.startKakaoPayPayment;
        }),
      );
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      expect(results.every((r) => r.status === "ACTION_REQUIRED")).toBe(true);
      const after = await simulatorStats(simulatorUrl);
      expect((after.requestsByPath["/v72/payments"] ?? 0) - (before.requestsByPath["/v72/payments"] ?? 0)).toBe(1);
      expect(after.paymentsCreated - before.paymentsCreated).toBe(1);
    }
  }, 180_000);

  it("changes a payment once, with one event and one publish, for a webhook posted to A and B at once, 100 times", async () => {
    const { a, b } = instances;
    const changes = { status: "AUTHORISED", source: "WEBHOOK" };
    const changesBefore = await summed([a, b], "gateway_payment_status_changes_total", changes);
    const ids: string[] = [];
    for (let round = 0; round < 100; round++) {
      const payment = await startPayment(round % 2 === 0 ? a.url : b.url, `twice-delivered-${round}`, 6_000);
      ids.push(payment.id);
      const body = notificationBody([
        signedItem({
          eventCode: "AUTHORISATION",
          pspReference: payment.pspReference!,
          merchantReference: payment.reference,
          amount: payment.amount,
        }),
      ]);
      const answers = await Promise.all([postWebhook(a.url, body), postWebhook(b.url, body)]);
      expect(answers).toEqual([
        { status: 200, text: "[accepted]" },
        { status: 200, text: "[accepted]" },
      ]);
      const events = await eventually(async () => {
        const { data } = await graphqlRequest(round % 2 === 0 ? b.url : a.url, PaymentDocument, { id: payment.id });
        expect(data?.payment?.status).toBe("AUTHORISED");
        return data!.payment!.events;
      });
      expect(events.map((e) => [e.version, e.status])).toEqual([
        [1, "ACTION_REQUIRED"],
        [2, "AUTHORISED"],
      ]);
    }
    // Each payment's channel rang for version 1 (its start) and version 2 (the webhook), once each.
    await eventually(async () => expect(ids.every((id) => (doorbells.rung.get(id)?.length ?? 0) >= 2)).toBe(true));
    for (const id of ids) expect(doorbells.rung.get(id)).toEqual([1, 2]);
    expect((await summed([a, b], "gateway_payment_status_changes_total", changes)) - changesBefore).toBe(100);
  }, 300_000);
});

describe.skipIf(!E2E_ON_POSTGRES || !REDIS_SERVER_ON_PATH)("two gateway processes on a Redis of our own, stopped and restarted", () => {
  let redis: PrivateRedis;
  let instances: Awaited<ReturnType<typeof startInstances>>;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    instances = await startInstances(redis.url);
  }, 60_000);
  afterAll(async () => {
    await instances?.close();
    await redis?.stop();
  });

  it("while Redis is away /readyz answers 503 and changes still commit; once back, 200 subscribers on B have every change, no gap, no duplicate", async () => {
    const { a, b } = instances;
    expect(await readyz(a.url)).toBe(200);
    expect(await readyz(b.url)).toBe(200);

    const payments = await Promise.all(Array.from({ length: 20 }, (_, i) => startPayment(a.url, `restart-${i}`)));
    const clients = Array.from({ length: 10 }, () => socket(b.url));
    // 10 subscribers per payment, spread over 10 sockets: 200 in all.
    const watchers = payments.flatMap((p) => clients.map((client) => ({ paymentId: p.id, ...watch(client, p.id) })));
    expect(watchers).toHaveLength(200);
    await eventually(async () => expect(watchers.every((w) => w.changes.length === 1)).toBe(true), 30_000);

    await redis.stop();
    await eventually(async () => {
      expect(await readyz(a.url)).toBe(503);
      expect(await readyz(b.url)).toBe(503);
    });
    // Committed on A (the simulator's webhooks go there) while nothing can be published: B must still learn of it.
    for (const p of payments) await chooseOutcome((p.action as { url: string }).url, "authorised");
    for (const p of payments) await eventually(async () => expect((await paymentHistory(a.url, p.id)).status).toBe("AUTHORISED"), 20_000);
    const publishFailures = () => a.output.filter((line) => line.includes("Redis publish failed")).length;
    expect(publishFailures()).toBeGreaterThanOrEqual(1);
    // Rate-limited: not one line per failed publish.
    expect(publishFailures()).toBeLessThan(payments.length);
    expect(b.child.exitCode).toBeNull();

    await redis.restart();
    await eventually(async () => {
      expect(await readyz(a.url)).toBe(200);
      expect(await readyz(b.url)).toBe(200);
    }, 20_000);
    // Nothing rings for version 2 any more: B re-reads it from the store because its connection came back.
    await eventually(async () => expect(watchers.every((w) => w.changes.length >= 2)).toBe(true), 30_000);

    // And the doorbell works again: a refund on each payment, PENDING then SUCCEEDED.
    for (const p of payments) await refund(a.url, p.id);
    const recorded = new Map<string, Awaited<ReturnType<typeof paymentHistory>>>();
    for (const p of payments) {
      recorded.set(
        p.id,
        await eventually(async () => {
          const h = await paymentHistory(a.url, p.id);
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

describe.skipIf(!E2E_ON_POSTGRES || !TEST_REDIS_URL)("two gateway processes started at once on an empty PostgreSQL schema", () => {
  let instances: Awaited<ReturnType<typeof startInstances>>;

  beforeAll(async () => {
    // Both migrate the empty schema at the same moment: once, under the advisory lock.
    instances = await startInstances(TEST_REDIS_URL!);
  }, 60_000);
  afterAll(async () => {
    await instances?.close();
  });

  it("both become ready; every webhook A acknowledged before a SIGKILL is applied once, by B or by A restarted", async () => {
    const { a, b } = instances;
    for (const instance of [a, b]) expect(await readyz(instance.url)).toBe(200);

    const payments: Array<StartKakaoPayPaymentMutation["startKakaoPayPayment"]> = [];
    for (let i = 0; i < 40; i++) payments.push(await startPayment(i % 2 === 0 ? a.url : b.url, `kill-a-${i}`, 1000));

    // A burst of webhooks to A, five at a time as Adyen delivers them; A is killed mid-burst.
    const acked = new Set<string>();
    const queue = [...payments];
    const sender = async () => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        const body = notificationBody([
          signedItem({ eventCode: "AUTHORISATION", pspReference: p.pspReference!, merchantReference: p.reference, amount: p.amount }),
        ]);
        try {
          const answer = await postWebhook(a.url, body);
          if (answer.status === 200 && answer.text === "[accepted]") acked.add(p.id);
          if (acked.size >= 10) a.child.kill("SIGKILL");
        } catch {
          // A is gone: Adyen would deliver this one again later.
        }
      }
    };
    await Promise.all(Array.from({ length: 5 }, sender));
    a.child.kill("SIGKILL");
    expect((await a.exited).signal).toBe("SIGKILL");
    expect(acked.size).toBeGreaterThanOrEqual(10);

    // A comes back on its port while B's sweep takes what A acknowledged and did not apply; each is applied once.
    const restarted = await instances.restartA();
    for (const id of acked) {
      for (const instance of [b, restarted]) {
        const payment = await eventually(async () => {
          const { data } = await graphqlRequest(instance.url, PaymentDocument, { id });
          expect(data?.payment?.status).toBe("AUTHORISED");
          return data!.payment!;
        }, 30_000);
        expect(payment.events.map((e) => [e.version, e.status])).toEqual([
          [1, "ACTION_REQUIRED"],
          [2, "AUTHORISED"],
        ]);
      }
    }
  }, 120_000);
});
