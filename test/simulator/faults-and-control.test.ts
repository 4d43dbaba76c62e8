import { afterEach, describe, expect, it } from "vitest";
import { ControlError, startSimulator, type SimulatorOptions } from "../../src/simulator/index.js";
import {
  API_KEY,
  MERCHANT_ACCOUNT,
  chooseOutcome,
  expectValidAnswer,
  redirectPaymentRequest,
  startTestSimulator,
  type TestSimulator,
} from "./support.js";

let sim: TestSimulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: Partial<SimulatorOptions> = {}): Promise<TestSimulator> {
  sim = await startTestSimulator(options);
  return sim;
}

/** A raw Checkout call whose answer may never come. */
function postPayment(test: TestSimulator, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${test.simulator.url}/v72/payments`, {
    method: "POST",
    headers: { "x-api-key": API_KEY, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
}

/** Waits for the simulator to reach a state, without betting on how long it takes. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
}

describe("fault modes", () => {
  it("5xx answers 500 with Adyen's error body and processes nothing", async () => {
    const test = await start();
    test.simulator.control.setFaults({ mode: "5xx", count: 1 });
    const failed = await test.api("POST", "/v72/payments", { body: redirectPaymentRequest() });
    expect(failed.status).toBe(500);
    expect(failed.body).toMatchObject({ status: 500, errorType: "internal" });
    expect(test.simulator.control.stats().paymentsCreated).toBe(0);
    expect((await test.api("POST", "/v72/payments", { body: redirectPaymentRequest() })).status).toBe(200);
  });

  it("reset destroys the socket without processing", async () => {
    const test = await start();
    test.simulator.control.setFaults({ mode: "reset", count: 1 });
    await expect(postPayment(test, redirectPaymentRequest())).rejects.toThrow();
    expect(test.simulator.control.stats()).toMatchObject({ paymentsCreated: 0, requestsByPath: { "/v72/payments": 1 } });
    expect((await test.api("POST", "/v72/payments", { body: redirectPaymentRequest() })).status).toBe(200);
  });

  it("timeout processes the payment and never answers; an idempotent retry gets the first result", async () => {
    const test = await start();
    test.simulator.control.setFaults({ mode: "timeout", count: 1 });
    const headers = { "idempotency-key": "retry-after-timeout" };
    const client = new AbortController();
    const lost = postPayment(test, redirectPaymentRequest(), headers, client.signal);
    await until(() => test.simulator.control.stats().paymentsCreated === 1);
    client.abort(); // the gateway's own timeout
    await expect(lost).rejects.toThrow();

    const retry = await test.api("POST", "/v72/payments", { body: redirectPaymentRequest(), headers });
    expect(retry.status).toBe(200);
    expect(retry.body.pspReference).toBe(test.simulator.control.payments()[0]?.pspReference);
    expect(test.simulator.control.stats().paymentsCreated).toBe(1);
  });

  it("slow answers a repeat of its Idempotency-Key 422/704 while in progress, then the first answer", async () => {
    const test = await start();
    test.simulator.control.setFaults({ mode: "slow", slowMs: 2000, count: 1 });
    const headers = { "idempotency-key": "retry-while-slow" };
    const slow = postPayment(test, redirectPaymentRequest(), headers);
    await until(() => test.simulator.control.stats().paymentsCreated === 1);
    const inProgress = await test.api("POST", "/v72/payments", { body: redirectPaymentRequest(), headers });
    expect(inProgress.status).toBe(422);
    expect(inProgress.body).toEqual({
      status: 422,
      errorCode: "704",
      message: "request already processed or in progress",
      errorType: "validation",
    });
    const late = await slow;
    expect(late.status).toBe(200);
    const retry = await test.api("POST", "/v72/payments", { body: redirectPaymentRequest(), headers });
    expect(retry.status).toBe(200);
    expect(await late.json()).toEqual(retry.body);
    expect(test.simulator.control.stats().paymentsCreated).toBe(1);
  });

  it("limits a fault to the given paths, raw or templated, with or without /v72", async () => {
    const test = await start();
    test.simulator.control.setFaults({ mode: "5xx", paths: ["/payments/details", "/v72/storedPaymentMethods/{storedPaymentMethodId}"] });
    expect((await test.api("POST", "/v72/paymentMethods", { body: { merchantAccount: MERCHANT_ACCOUNT } })).status).toBe(200);
    expect((await test.api("POST", "/v72/payments/details", { body: { details: { redirectResult: "x" } } })).status).toBe(500);
    const query = `merchantAccount=${MERCHANT_ACCOUNT}&shopperReference=shopper-1`;
    expect((await test.api("DELETE", `/v72/storedPaymentMethods/ABC?${query}`)).status).toBe(500);
    expect((await test.api("GET", `/v72/storedPaymentMethods?${query}`)).status).toBe(200);
    test.simulator.control.reset();
    expect((await test.api("POST", "/v72/payments/details", { body: { details: { redirectResult: "x" } } })).status).toBe(422);
  });

  it("fails count requests, or every one until reset", async () => {
    const test = await start();
    const paymentMethods = () => test.api("POST", "/v72/paymentMethods", { body: { merchantAccount: MERCHANT_ACCOUNT } });
    test.simulator.control.setFaults({ mode: "5xx", count: 2 });
    expect([(await paymentMethods()).status, (await paymentMethods()).status, (await paymentMethods()).status]).toEqual([500, 500, 200]);
    test.simulator.control.setFaults({ mode: "5xx" });
    expect([(await paymentMethods()).status, (await paymentMethods()).status]).toEqual([500, 500]);
    test.simulator.control.setFaults({ mode: "none" });
    expect((await paymentMethods()).status).toBe(200);
    expect(test.simulator.control.stats().requestsByPath["/v72/paymentMethods"]).toBe(6);
  });

  it("leaves the hosted page alone", async () => {
    const test = await start();
    const payment = await test.api("POST", "/v72/payments", { body: redirectPaymentRequest() });
    test.simulator.control.setFaults({ mode: "reset" });
    expect((await fetch(payment.body.action.url)).status).toBe(200);
    expect((await chooseOutcome(payment.body.action.url, "authorised")).status).toBe(303);
  });

  it("rejects settings that make no sense", async () => {
    const test = await start();
    const control = test.simulator.control;
    expect(() => control.setFaults({ mode: "explode" as never })).toThrow(ControlError);
    expect(() => control.setFaults({ mode: "slow" })).toThrow(/slowMs/);
    expect(() => control.setFaults({ mode: "5xx", count: 0 })).toThrow(/count/);
    expect(() => control.setWebhookBehaviour({ duplicates: "yes" as never })).toThrow(/duplicates/);
  });

  it("close() ends requests held by the timeout fault", async () => {
    const test = await start();
    test.simulator.control.setFaults({ mode: "timeout" });
    const held = postPayment(test, redirectPaymentRequest());
    await until(() => test.simulator.control.stats().paymentsCreated === 1);
    await test.simulator.close();
    await expect(held).rejects.toThrow();
  });
});

describe("the control plane over HTTP", () => {
  async function control(test: TestSimulator, body: unknown): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${test.simulator.url}/__control`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  }

  it("sets faults, reports stats and payments, expires sessions, waits for idle and resets", async () => {
    const test = await start();
    expect(await control(test, { action: "setFaults", faults: { mode: "5xx", count: 1 } })).toEqual({ status: 200, body: { ok: true } });
    expect((await test.api("POST", "/v72/payments", { body: redirectPaymentRequest() })).status).toBe(500);
    const payment = await test.api("POST", "/v72/payments", { body: redirectPaymentRequest({ reference: "order-http" }) });

    const stats = (await (await fetch(`${test.simulator.url}/__control/stats`)).json()) as Record<string, unknown>;
    expect(stats).toEqual({
      paymentsCreated: 1,
      refundsCreated: 0,
      requestsByPath: { "/v72/payments": 2 },
      webhooksDelivered: 0,
      webhooksFailed: 0,
      pendingDeliveries: 0,
    });
    const payments = (await (await fetch(`${test.simulator.url}/__control/payments`)).json()) as unknown[];
    expect(payments).toEqual([
      expect.objectContaining({
        pspReference: payment.body.pspReference,
        reference: "order-http",
        status: "RedirectShopper",
        kind: "redirect",
      }),
    ]);

    expect((await control(test, { action: "expireSession", id: payment.body.pspReference })).status).toBe(200);
    expect((await control(test, { action: "expireSession", id: payment.body.pspReference })).status).toBe(409);
    expect((await control(test, { action: "expireSession", id: "NOSUCH" })).status).toBe(404);
    expect((await control(test, { action: "idle" })).status).toBe(200);
    expect(test.receiver.received.map((webhook) => webhook.item.eventCode)).toEqual(["OFFER_CLOSED"]);

    expect(await control(test, { action: "setWebhookBehaviour", behaviour: { duplicates: true } })).toEqual({
      status: 200,
      body: { ok: true },
    });
    expect((await control(test, { action: "reset" })).status).toBe(200);
  });

  it("refuses malformed commands", async () => {
    const test = await start();
    expect((await control(test, "{oops")).status).toBe(400);
    expect((await control(test, { action: "launch" })).status).toBe(400);
    expect((await control(test, { action: "setFaults", faults: { mode: "sometimes" } })).status).toBe(400);
    expect((await control(test, { action: "sendWebhook", item: { eventCode: "AUTHORISATION" } })).status).toBe(400);
  });
});

describe("options", () => {
  it.each([
    [{ apiKey: "" }, /apiKey/],
    [{ webhookDelayMs: -1 }, /webhookDelayMs/],
    [{ retryScheduleMs: [1.5] }, /retryScheduleMs/],
    [{ webhook: { url: "ftp://x", hmacKeyHex: "00", username: "u", password: "p" } }, /webhook\.url/],
    [{ webhook: { url: "http://127.0.0.1:1/", hmacKeyHex: "xyz", username: "u", password: "p" } }, /hmacKeyHex/],
  ])("startSimulator refuses %j", async (overrides, message) => {
    await expect(startSimulator({ apiKey: API_KEY, merchantAccount: MERCHANT_ACCOUNT, log: () => {}, ...overrides })).rejects.toThrow(
      message,
    );
  });

  it("puts publicUrl in the redirect action", async () => {
    const test = await start({ publicUrl: "https://simulator.example/adyen/" });
    const answer = await test.api("POST", "/v72/payments", { body: redirectPaymentRequest() });
    expectValidAnswer("POST", "/v72/payments", answer);
    expect(answer.body.action.url).toMatch(/^https:\/\/simulator\.example\/adyen\/hpp\/kakaopay\/[A-Za-z0-9_-]+$/);
  });
});
