/**
 * Scenario 5's load generator, in its own process: N graphql-ws clients, one socket and one subscription each,
 * and the webhooks that drive their payments, sent at a fixed rate. The webhook-to-client latency is measured on
 * one clock: from just before a webhook is sent to the moment its subscriber gets the AUTHORISED change.
 */
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";
import { SUBSCRIPTION } from "./fixtures.js";
import { serveRunner } from "./processes.js";

export type PoolRequest =
  | { type: "open"; url: string; apiKey: string; paymentIds: string[]; concurrency: number }
  | {
      type: "drive";
      webhookUrl: string;
      headers: Record<string, string>;
      webhooks: Array<{ paymentId: string; body: string }>;
      perSecond: number;
      /** How long to wait for the last changes after the last webhook was acknowledged. */
      settleMs: number;
    }
  | { type: "close" };

export interface OpenResult {
  opened: number;
  failed: number;
  seconds: number;
  firstError: string | null;
}

export interface DriveResult {
  sent: number;
  /** Webhooks not answered 200 `[accepted]`. */
  rejected: number;
  delivered: number;
  /** Changes no subscriber received, and subscriptions that ended early. */
  missing: number;
  seconds: number;
  webhooksPerSecond: number;
  /** ms; null when no change arrived. */
  p50: number | null;
  p99: number | null;
  max: number | null;
}

type Change = { paymentStatusChanged: { status: string } };

const OPEN_TIMEOUT_MS = 30_000;

const clients: Client[] = [];
/** Driven payments whose change has not reached their subscriber yet: payment id -> when its webhook was sent. */
const waiting = new Map<string, number>();
const latencies: number[] = [];
let endedEarly = 0;

function subscribe(url: string, apiKey: string, paymentId: string): Promise<void> {
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${apiKey}` },
    retryAttempts: 0,
    lazy: true,
  });
  clients.push(client);
  return new Promise((resolve, reject) => {
    let live = false;
    const timer = setTimeout(() => reject(new Error(`subscription to ${paymentId} not live after ${OPEN_TIMEOUT_MS} ms`)), OPEN_TIMEOUT_MS);
    const end = (error: unknown) => {
      clearTimeout(timer);
      if (live) endedEarly += 1;
      else reject(error instanceof Error ? error : new Error(describeClose(error)));
    };
    client.subscribe<Change>(
      { query: SUBSCRIPTION, variables: { id: paymentId } },
      {
        next: (message) => {
          // afterVersion: 0 replays the payment's history first: the first message says the subscription is live.
          if (!live) {
            live = true;
            clearTimeout(timer);
            resolve();
          }
          const sentAt = waiting.get(paymentId);
          if (sentAt !== undefined && message.data?.paymentStatusChanged?.status === "AUTHORISED") {
            latencies.push(performance.now() - sentAt);
            waiting.delete(paymentId);
          }
        },
        error: end,
        complete: () => end(new Error(`subscription to ${paymentId} completed`)),
      },
    );
  });
}

/** graphql-ws reports a closed socket as a CloseEvent, whose fields are getters that JSON.stringify skips. */
function describeClose(event: unknown): string {
  const { code, reason } = (event ?? {}) as { code?: number; reason?: string };
  return code === undefined ? String(event) : `socket closed: ${code} ${reason ?? ""}`.trim();
}

async function open(job: Extract<PoolRequest, { type: "open" }>): Promise<OpenResult> {
  const started = performance.now();
  let next = 0;
  let failed = 0;
  let firstError: string | null = null;
  // A fixed number of connections in flight, so the gateway is not handed 10,000 handshakes at once.
  const worker = async () => {
    while (next < job.paymentIds.length) {
      const id = job.paymentIds[next++]!;
      await subscribe(job.url, job.apiKey, id).catch((error: unknown) => {
        failed += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      });
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  return { opened: job.paymentIds.length - failed, failed, seconds: (performance.now() - started) / 1000, firstError };
}

async function drive(job: Extract<PoolRequest, { type: "drive" }>): Promise<DriveResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  latencies.length = 0;
  let rejected = 0;
  let acknowledged = 0;
  const post = (webhook: { paymentId: string; body: string }) => {
    waiting.set(webhook.paymentId, performance.now());
    const outgoing = request(job.webhookUrl, { method: "POST", agent, headers: job.headers }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => {
        acknowledged += 1;
        if (response.statusCode !== 200 || text !== "[accepted]") rejected += 1;
      });
    });
    outgoing.on("error", () => {
      acknowledged += 1;
      rejected += 1;
    });
    outgoing.end(webhook.body);
  };

  const started = performance.now();
  let sent = 0;
  // Catch up to the schedule every few ms: the rate holds even when a tick comes late.
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(job.webhooks.length, Math.floor(((performance.now() - started) / 1000) * job.perSecond));
      while (sent < due) post(job.webhooks[sent++]!);
      if (sent === job.webhooks.length) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  const sendSeconds = (performance.now() - started) / 1000;
  const deadline = performance.now() + job.settleMs;
  while ((acknowledged < sent || waiting.size > 0) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  agent.destroy();
  const missing = waiting.size + endedEarly;
  waiting.clear();
  const sorted = [...latencies].sort((a, b) => a - b);
  const percentile = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! : null);
  return {
    sent,
    rejected: rejected + (sent - acknowledged),
    delivered: sorted.length,
    missing,
    seconds: sendSeconds,
    webhooksPerSecond: sent / sendSeconds,
    p50: percentile(0.5),
    p99: percentile(0.99),
    max: sorted.at(-1) ?? null,
  };
}

serveRunner<PoolRequest>("ws-pool", async (job) => {
  switch (job.type) {
    case "open":
      return open(job);
    case "drive":
      return drive(job);
    case "close": {
      const closing = clients.splice(0).map((client) => client.dispose());
      await Promise.all(closing);
      endedEarly = 0;
      return { closed: closing.length };
    }
  }
});
