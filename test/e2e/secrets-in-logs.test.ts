import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { print } from "graphql";
import { createClient } from "graphql-ws";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createLogger } from "../../src/observability/logger.js";
import {
  ChargeStoredPaymentMethodDocument,
  PaymentDocument,
  PaymentStatusChangedDocument,
  StartKakaoPayPaymentDocument,
  StoredPaymentMethodsDocument,
  SubmitPaymentDetailsDocument,
} from "../generated/graphql.js";
import {
  ALPHA_KEY,
  BETA_KEY,
  chooseOutcome,
  eventually,
  graphqlRequest,
  HMAC_KEY,
  PREVIOUS_HMAC_KEY,
  WEBHOOK_PASSWORD,
  WEBHOOK_USER,
} from "../support/gateway.js";
import { type GatewayProcess, startGatewayProcess } from "../support/process.js";
import { notificationBody, postWebhook, signedItem } from "../support/webhooks.js";

const ADYEN_API_KEY = "AQE-adyen-api-key-never-logged-0123456789";
const WRONG_PASSWORD = "wrong-webhook-password-4567";
const WRONG_BEARER = "not-a-key-but-secret-looking-89ab";

const dirs: string[] = [];
const children: GatewayProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Every form in which a secret could leak: as given, and inside a basic-auth header. */
function secretForms(): string[] {
  const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString("base64");
  return [
    ADYEN_API_KEY,
    ALPHA_KEY,
    BETA_KEY,
    HMAC_KEY,
    HMAC_KEY.toLowerCase(),
    PREVIOUS_HMAC_KEY,
    WEBHOOK_PASSWORD,
    WRONG_PASSWORD,
    WRONG_BEARER,
    basic(WEBHOOK_USER, WEBHOOK_PASSWORD),
    basic(WEBHOOK_USER, WRONG_PASSWORD),
  ];
}

describe("no secret in anything the process prints", () => {
  it("through payments, webhooks (basic auth, HMAC, both wrong too), a token charge, a subscription and a config error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kakaopay-secrets-"));
    dirs.push(dir);
    const gw = await startGatewayProcess(dir, {
      LOG_LEVEL: "trace",
      ADYEN_API_KEY,
      ADYEN_HMAC_KEY_PREVIOUS: PREVIOUS_HMAC_KEY,
      SIMULATOR_WEBHOOK_DELAY_MS: "0",
    });
    children.push(gw);

    const statuses: string[] = [];
    const client = createClient({
      url: `${gw.url.replace("http", "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${ALPHA_KEY}` },
      retryAttempts: 0,
    });
    const started = await graphqlRequest(gw.url, StartKakaoPayPaymentDocument, {
      input: {
        amount: { value: 12300, currency: "KRW" },
        reference: "secret-order-1",
        returnUrl: "https://shop.example/r",
        shopperReference: "shopper-secrets",
        storePaymentMethod: true,
      },
    });
    const payment = started.data!.startKakaoPayPayment;
    client.subscribe(
      { query: print(PaymentStatusChangedDocument), variables: { paymentId: payment.id, afterVersion: 0 } },
      {
        next: (r) => void statuses.push((r.data as { paymentStatusChanged: { status: string } }).paymentStatusChanged.status),
        error: () => {},
        complete: () => {},
      },
    );
    const { redirectResult } = await chooseOutcome((payment.action as { url: string }).url, "authorised");
    await graphqlRequest(gw.url, SubmitPaymentDetailsDocument, { input: { paymentId: payment.id, details: { redirectResult } } });
    // The simulator's AUTHORISATION and RECURRING_CONTRACT webhooks, with basic auth and HMAC, reach the gateway.
    const tokens = await eventually(async () => {
      const listed = await graphqlRequest(gw.url, StoredPaymentMethodsDocument, { shopperReference: "shopper-secrets" });
      expect(listed.data?.storedPaymentMethods).toHaveLength(1);
      return listed.data!.storedPaymentMethods;
    });
    await graphqlRequest(gw.url, ChargeStoredPaymentMethodDocument, {
      input: {
        storedPaymentMethodId: tokens[0]!.id,
        shopperReference: "shopper-secrets",
        amount: { value: 5000, currency: "KRW" },
        reference: "secret-order-2",
        recurringProcessingModel: "SUBSCRIPTION",
      },
    });
    const item = signedItem({ eventCode: "AUTHORISATION", pspReference: payment.pspReference!, merchantReference: "secret-order-1" });
    expect((await postWebhook(gw.url, notificationBody([item]), { user: WEBHOOK_USER, password: WRONG_PASSWORD })).status).toBe(401);
    const forged = signedItem({ eventCode: "AUTHORISATION", pspReference: payment.pspReference!, merchantReference: "x" }, "00".repeat(32));
    expect((await postWebhook(gw.url, notificationBody([forged]))).status).toBe(401);
    expect((await graphqlRequest(gw.url, PaymentDocument, { id: payment.id }, WRONG_BEARER)).errors?.[0]?.extensions?.code).toBe(
      "UNAUTHENTICATED",
    );
    await eventually(async () => expect(statuses).toContain("AUTHORISED"));
    await client.dispose();
    gw.child.kill("SIGTERM");
    await gw.exited;

    // A configuration error about a secret names the variable, never the value.
    const misconfigured = spawnSync(process.execPath, ["dist/src/main.js"], {
      env: { PATH: process.env.PATH, ADYEN_ENVIRONMENT: "simulator", GATEWAY_API_KEYS: `a:${ALPHA_KEY},b:${ALPHA_KEY}`, METRICS_PORT: "0" },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(misconfigured.status).toBe(1);

    const printed = [...gw.output, misconfigured.stdout, misconfigured.stderr].join("\n");
    // The flow did log: every line is JSON, the webhooks and the config error among them.
    expect(gw.output.length).toBeGreaterThan(10);
    for (const line of gw.output) expect(() => JSON.parse(line)).not.toThrow();
    expect(printed).toContain("webhook rejected: HMAC signature does not match");
    expect(printed).toContain("GATEWAY_API_KEYS");
    for (const secret of secretForms()) expect(printed).not.toContain(secret);
  });
});

describe("the logger's redaction", () => {
  it("censors every secret-bearing field wherever a caller puts it", () => {
    const lines: string[] = [];
    const logger = createLogger("info", { write: (line: string) => void lines.push(line) });
    logger.info(
      {
        apiKey: "k1-secret",
        headers: { authorization: "Bearer k2-secret", "x-api-key": "k3-secret" },
        webhook: { password: "k4-secret", hmacKeyHex: "k5-secret" },
        config: { hmacKeys: ["k6-secret"], webhookPassword: "k7-secret", clientSecret: "k8-secret" },
        connectionParams: { authorization: "Bearer k9-secret" },
        paymentId: "pay_1",
      },
      "a line",
    );
    expect(lines.join("")).not.toMatch(/k\d-secret/);
    expect(JSON.parse(lines[0]!)).toMatchObject({ paymentId: "pay_1", apiKey: "[redacted]", msg: "a line" });
  });
});
