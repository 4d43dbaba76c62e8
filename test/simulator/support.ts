import { createHmac, randomBytes } from "node:crypto";
import { memoryLogger } from "../support/logger.js";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "vitest";
import { startSimulator, type RunningSimulator, type SimulatorOptions } from "../../src/simulator/index.js";
import { checkoutApiSpec, webhooksSpec } from "../../src/simulator/spec.js";

export const API_KEY = "test-api-key-0123456789";
export const MERCHANT_ACCOUNT = "KakaoPayGatewaySimulator";
export const WEBHOOK_USERNAME = "adyen-webhooks";
export const WEBHOOK_PASSWORD = "webhook-password-9876";
export const HMAC_KEY_HEX = randomBytes(32).toString("hex").toUpperCase();

/** What the test receiver got: the raw body as parsed JSON, and the one item Adyen puts in each request. */
export interface ReceivedWebhook {
  authorization: string | undefined;
  contentType: string | undefined;
  body: { live: string; notificationItems: Array<{ NotificationRequestItem: WireItem }> };
  item: WireItem;
}

export interface WireItem {
  additionalData?: Record<string, string>;
  amount: { value: number; currency: string };
  eventCode: string;
  eventDate: string;
  merchantAccountCode: string;
  merchantReference: string;
  originalReference?: string;
  originalPsp?: string;
  paymentMethod?: string;
  pspReference: string;
  reason?: string;
  success: string;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** How many requests arrived, accepted or not. */
  attempts: () => number;
  /** Decides the answer to the nth request (0-based), possibly late; the default accepts everything at once. */
  answerWith(answer: (attempt: number) => { status: number; body: string; delayMs?: number }): void;
  /** What happened, in order: each request's arrival and each answer's sending, by eventCode. */
  timeline: string[];
  close(): Promise<void>;
}

async function readText(request: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of request) text += String(chunk);
  return text;
}

/** A stand-in for the gateway's POST /webhooks/adyen that records what it receives. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let attempts = 0;
  const timeline: string[] = [];
  let answer = (_attempt: number): { status: number; body: string; delayMs?: number } => ({ status: 200, body: "[accepted]" });
  const server = createServer((request, response) => {
    readText(request)
      .then((text) => {
        const reply = answer(attempts);
        attempts += 1;
        const body = JSON.parse(text) as ReceivedWebhook["body"];
        const item = body.notificationItems[0]?.NotificationRequestItem;
        if (reply.status >= 200 && reply.status < 300 && item !== undefined) {
          received.push({ authorization: request.headers.authorization, contentType: request.headers["content-type"], body, item });
        }
        timeline.push(`arrived ${item?.eventCode}`);
        const send = () => {
          timeline.push(`answered ${item?.eventCode}`);
          response.writeHead(reply.status, { "content-type": "text/plain" }).end(reply.body);
        };
        if (reply.delayMs === undefined) send();
        else setTimeout(send, reply.delayMs);
      })
      // A delivery cut off by the simulator's close() arrives incomplete: drop it as a real receiver would.
      .catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/adyen`,
    received,
    timeline,
    attempts: () => attempts,
    answerWith(next) {
      answer = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The test's own HMAC check, written from Adyen's documentation rather than taken from the simulator. */
export function expectAuthentic(webhook: ReceivedWebhook): void {
  const expectedAuthorization = `Basic ${Buffer.from(`${WEBHOOK_USERNAME}:${WEBHOOK_PASSWORD}`).toString("base64")}`;
  expect(webhook.authorization).toBe(expectedAuthorization);
  expect(webhook.contentType).toMatch(/^application\/json/);
  const item = webhook.item;
  const signed = [
    item.pspReference,
    item.originalReference ?? "",
    item.merchantAccountCode,
    item.merchantReference,
    item.amount.value,
    item.amount.currency,
    item.eventCode,
    item.success,
  ].join(":");
  const expected = createHmac("sha256", Buffer.from(HMAC_KEY_HEX, "hex")).update(signed).digest("base64");
  expect(item.additionalData?.["hmacSignature"]).toBe(expected);
  expect(webhooksSpec().validateNotification(item.eventCode, webhook.body)).toBeUndefined();
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  // JSON under test: its fields are read freely and asserted.
  // biome-ignore lint/suspicious/noExplicitAny: answers of many shapes, each asserted by the test that reads it
  body: any;
}

export interface TestSimulator {
  simulator: RunningSimulator;
  receiver: WebhookReceiver;
  logs: string[];
  /** Calls Checkout and checks that whatever comes back validates against the spec. */
  api(method: string, path: string, options?: { body?: unknown; rawBody?: string; headers?: Record<string, string> }): Promise<ApiAnswer>;
  close(): Promise<void>;
}

export async function startTestSimulator(options: Partial<SimulatorOptions> = {}): Promise<TestSimulator> {
  const receiver = await startWebhookReceiver();
  const logs: string[] = [];
  const simulator = await startSimulator({
    apiKey: API_KEY,
    merchantAccount: MERCHANT_ACCOUNT,
    webhook: { url: receiver.url, hmacKeyHex: HMAC_KEY_HEX, username: WEBHOOK_USERNAME, password: WEBHOOK_PASSWORD },
    webhookDelayMs: 5,
    pendingDelayMs: 20,
    retryScheduleMs: [5, 5],
    logger: memoryLogger(logs),
    ...options,
  });
  return {
    simulator,
    receiver,
    logs,
    async api(method, path, { body, rawBody, headers } = {}) {
      const response = await fetch(simulator.url + path, {
        method,
        headers: { "x-api-key": API_KEY, "content-type": "application/json", ...headers },
        ...(rawBody !== undefined ? { body: rawBody } : body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      const answer: ApiAnswer = { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) };
      expectValidAnswer(method, path, answer);
      return answer;
    },
    async close() {
      await simulator.close();
      await receiver.close();
      // The simulator checks its own answers and webhooks against the specs and logs "simulator BUG:" when one fails
      // (a bare "BUG" also matches random pspReferences such as NAGUGMBUGVKDKQAN).
      expect(logs.filter((line) => line.includes("simulator BUG:"))).toEqual([]);
    },
  };
}

/** Every Checkout answer validates against the operation's response schema, or against ServiceError. */
export function expectValidAnswer(method: string, path: string, answer: ApiAnswer): void {
  const spec = checkoutApiSpec();
  const apiPath = new URL(path, "http://x").pathname.replace(/^\/v72/, "");
  const match = spec.match(method, apiPath);
  const problem =
    match === undefined ? spec.validateServiceError(answer.body) : match.operation.validateResponse(answer.status, answer.body);
  expect(problem, `${method} ${path} answered ${answer.status} ${JSON.stringify(answer.body)}`).toBeUndefined();
}

export function redirectPaymentRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    merchantAccount: MERCHANT_ACCOUNT,
    amount: { value: 12300, currency: "KRW" },
    reference: "order-1001",
    returnUrl: "https://shop.example/checkout/return",
    countryCode: "KR",
    paymentMethod: { type: "kakaopay" },
    ...overrides,
  };
}

/** Submits the hosted page's form as the shopper's browser would and returns the answer without following it. */
export async function chooseOutcome(actionUrl: string, outcome: string): Promise<Response> {
  return fetch(actionUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ outcome }).toString(),
    redirect: "manual",
  });
}

/** The redirectResult a 303 from the hosted page hands to the returnUrl. */
export function redirectResultOf(location: string): string {
  const redirectResult = new URL(location).searchParams.get("redirectResult");
  expect(redirectResult).toBeTruthy();
  return redirectResult ?? "";
}
