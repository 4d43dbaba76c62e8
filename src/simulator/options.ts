import { createLogger } from "../observability/logger.js";
import type { Logger } from "../payments/logger.js";
import type { WebhookTarget } from "./webhooks.js";

/** Optional fields may be absent or undefined; either way the default applies. */
export interface SimulatorOptions {
  /** 0 (the default) picks a free port; the listener binds 127.0.0.1. */
  port?: number | undefined;
  /** Base URL put in action.url; default http://127.0.0.1:<bound port>. */
  publicUrl?: string | undefined;
  /** The X-API-Key the simulator requires (401 with Adyen's error body otherwise). */
  apiKey: string;
  /** The only merchantAccount accepted (403 otherwise). */
  merchantAccount: string;
  /** Where and how to send standard webhooks; absent = send none. */
  webhook?: WebhookTarget | undefined;
  /** Default 1000 (SIMULATOR_WEBHOOK_DELAY_MS). */
  webhookDelayMs?: number | undefined;
  /** Default 10000 (SIMULATOR_PENDING_DELAY_MS). */
  pendingDelayMs?: number | undefined;
  /** Default 900000 (SIMULATOR_OFFER_TTL_SECONDS * 1000). */
  offerTtlMs?: number | undefined;
  /** Delays before each retry of a failed webhook delivery; after the last one the delivery is given up. */
  retryScheduleMs?: number[] | undefined;
  /** Default: JSON lines on stdout at info. */
  logger?: Logger | undefined;
}

/** setTimeout fires at once for longer delays, so no delay may exceed this (about 24.8 days). */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Adyen retries three times at once, then after growing pauses; here its minutes become seconds so that a test
 * run or a local session sees the retries without waiting for hours.
 */
const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [0, 0, 0, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000];

export interface ResolvedOptions {
  port: number;
  publicUrl: string | undefined;
  apiKey: string;
  merchantAccount: string;
  webhook: WebhookTarget | undefined;
  webhookDelayMs: number;
  pendingDelayMs: number;
  offerTtlMs: number;
  retryScheduleMs: readonly number[];
  logger: Logger;
}

const isDelay = (value: unknown): value is number =>
  Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= MAX_TIMER_MS;

function delay(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!isDelay(value)) throw new Error(`simulator: ${name} must be an integer number of milliseconds from 0 to ${MAX_TIMER_MS}`);
  return value;
}

function nonEmpty(name: string, value: string): string {
  if (typeof value !== "string" || value === "") throw new Error(`simulator: ${name} must be a non-empty string`);
  return value;
}

function httpUrl(name: string, value: string): string {
  const parsed = URL.canParse(value) ? new URL(value) : undefined;
  if (parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    throw new Error(`simulator: ${name} must be an http(s) URL`);
  }
  return value;
}

/** Checks every option and fills in the defaults; throws an Error naming the first bad option. */
export function resolveOptions(options: SimulatorOptions): ResolvedOptions {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error("simulator: port must be an integer from 0 to 65535");
  const retryScheduleMs = options.retryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS;
  if (!Array.isArray(retryScheduleMs) || !retryScheduleMs.every(isDelay)) {
    throw new Error(`simulator: retryScheduleMs must be a list of integer delays from 0 to ${MAX_TIMER_MS} ms`);
  }
  const webhook = options.webhook;
  if (webhook !== undefined) {
    httpUrl("webhook.url", webhook.url);
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(webhook.hmacKeyHex)) throw new Error("simulator: webhook.hmacKeyHex must be a hex string");
    nonEmpty("webhook.username", webhook.username);
    nonEmpty("webhook.password", webhook.password);
  }
  return {
    port,
    publicUrl: options.publicUrl === undefined ? undefined : httpUrl("publicUrl", options.publicUrl).replace(/\/+$/, ""),
    apiKey: nonEmpty("apiKey", options.apiKey),
    merchantAccount: nonEmpty("merchantAccount", options.merchantAccount),
    webhook: webhook === undefined ? undefined : { ...webhook },
    webhookDelayMs: delay("webhookDelayMs", options.webhookDelayMs, 1_000),
    pendingDelayMs: delay("pendingDelayMs", options.pendingDelayMs, 10_000),
    offerTtlMs: delay("offerTtlMs", options.offerTtlMs, 900_000),
    retryScheduleMs: [...retryScheduleMs],
    logger: options.logger ?? createLogger("info").child({ component: "simulator" }),
  };
}
