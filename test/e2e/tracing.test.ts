import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { print } from "graphql";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { startTracing } from "../../src/observability/otel-sdk.js";
import { PaymentDocument, StartKakaoPayPaymentDocument } from "../generated/graphql.js";
import { ALPHA_KEY, eventually, graphqlRequest, TestGateway } from "../support/gateway.js";
import { type GatewayProcess, startGatewayProcess } from "../support/process.js";
import { notificationBody, signedItem } from "../support/webhooks.js";

const exporter = new InMemorySpanExporter();
const sdk = startTracing([new SimpleSpanProcessor(exporter)]);
afterAll(() => sdk.shutdown());

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";
const WEBHOOK_TRACE_ID = "0af7651916cd43dd8448eb211c80319c";

function children(spans: ReadableSpan[], parent: ReadableSpan): ReadableSpan[] {
  return spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
}

function only(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((s) => s.name === name);
  expect(found.map((s) => s.name)).toEqual([name]);
  return found[0]!;
}

describe("OpenTelemetry traces", () => {
  it("gives one payment's flow its spans, parented under the callers' traceparent", async () => {
    const gw = await TestGateway.start({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" });
    try {
      const response = await fetch(`${gw.url}/graphql`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${ALPHA_KEY}`,
          traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`,
        },
        body: JSON.stringify({
          query: print(StartKakaoPayPaymentDocument),
          variables: { input: { amount: { value: 12300, currency: "KRW" }, reference: "traced-1", returnUrl: "https://shop.example/r" } },
        }),
      });
      const payment = ((await response.json()) as { data: { startKakaoPayPayment: { id: string; pspReference: string } } }).data
        .startKakaoPayPayment;

      const item = signedItem({ eventCode: "AUTHORISATION", pspReference: payment.pspReference, merchantReference: "traced-1" });
      const webhook = await fetch(`${gw.url}/webhooks/adyen`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          traceparent: `00-${WEBHOOK_TRACE_ID}-${CALLER_SPAN}-01`,
          authorization: `Basic ${Buffer.from("adyen-test:webhook-password-0123").toString("base64")}`,
        },
        body: notificationBody([item]),
      });
      expect(webhook.status).toBe(200);
      await eventually(async () => expect((await gw.data(PaymentDocument, { id: payment.id })).payment?.status).toBe("AUTHORISED"));

      const spans = exporter.getFinishedSpans();
      const payments = spans.filter((s) => s.spanContext().traceId === TRACE_ID);
      const server = only(payments, "POST /graphql");
      expect(server.parentSpanContext?.spanId).toBe(CALLER_SPAN);
      const operation = only(children(payments, server), "graphql.mutation startKakaoPayPayment");
      const underOperation = children(payments, operation).map((s) => s.name);
      expect(underOperation).toContain("adyen.payments");
      expect(underOperation).toContain("db.payments.createPayment");
      expect(underOperation).toContain("db.payments.recordSignal");

      const webhooks = spans.filter((s) => s.spanContext().traceId === WEBHOOK_TRACE_ID);
      const request = only(webhooks, "POST /webhooks/adyen");
      expect(request.parentSpanContext?.spanId).toBe(CALLER_SPAN);
      expect(children(webhooks, request).map((s) => s.name)).toEqual(["webhooks.receive", "webhooks.apply"]);
      // Its payment is known: the item is stored and applied in one write, inside receive, before the answer.
      const receive = only(webhooks, "webhooks.receive");
      expect(children(webhooks, receive).map((s) => s.name)).toEqual(["db.payments.receiveSignal"]);
      expect(children(webhooks, only(webhooks, "webhooks.apply"))).toEqual([]);
    } finally {
      await gw.close();
    }
  });
});

describe("with tracing off", () => {
  const dirs: string[] = [];
  const children: GatewayProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.child.kill("SIGKILL");
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the real process as npm start does (node --import otel-register), recording every module it imports. */
  async function importedModules(env: Record<string, string>): Promise<string[]> {
    const dir = mkdtempSync(join(tmpdir(), "kakaopay-imports-"));
    dirs.push(dir);
    const log = join(dir, "imports.log");
    writeFileSync(
      join(dir, "hooks.mjs"),
      `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, resolved.url + "\\n");
  return resolved;
}`,
    );
    writeFileSync(
      join(dir, "register.mjs"),
      `import { register } from "node:module";\nregister(new URL("./hooks.mjs", import.meta.url));\n`,
    );
    const gw = await startGatewayProcess(dir, env, [
      process.execPath,
      "--import",
      join(dir, "register.mjs"),
      "--import",
      "./dist/src/observability/otel-register.js",
      "dist/src/main.js",
    ]);
    children.push(gw);
    expect((await graphqlRequest(gw.url, PaymentDocument, { id: "pay_unknown" })).data).toEqual({ payment: null });
    gw.child.kill("SIGTERM");
    await gw.exited;
    return readFileSync(log, "utf8").split("\n");
  }

  it("loads no OpenTelemetry module at all", async () => {
    const off = await importedModules({});
    expect(off.some((url) => url.endsWith("/dist/src/app.js"))).toBe(true);
    expect(off.filter((url) => url.includes("@opentelemetry"))).toEqual([]);

    const on = await importedModules({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" });
    expect(on.some((url) => url.includes("@opentelemetry/sdk-node"))).toBe(true);
  });
});
