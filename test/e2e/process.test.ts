import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { print } from "graphql";
import { createClient } from "graphql-ws";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { PaymentStatusChangedDocument, StartKakaoPayPaymentDocument, type StartKakaoPayPaymentMutation } from "../generated/graphql.js";
import { ALPHA_KEY, graphqlRequest, tableRows } from "../support/gateway.js";
import { type GatewayProcess, startGatewayProcess } from "../support/process.js";
import { notificationBody, postWebhook, signedItem } from "../support/webhooks.js";

const dirs: string[] = [];
const children: GatewayProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.child.kill("SIGKILL");
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
    const webhooks = payments.map(async (p) => {
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
    });
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
