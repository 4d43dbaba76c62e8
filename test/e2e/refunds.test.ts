import { print } from "graphql";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../src/simulator/index.js";
import {
  PaymentRefundsDocument,
  RefundEventsDocument,
  type RefundEventsSubscription,
  RefundPaymentDocument,
  type RefundPaymentMutationVariables,
  StartKakaoPayPaymentDocument,
} from "../generated/graphql.js";
import {
  ALPHA_KEY,
  BETA_KEY,
  chooseOutcome,
  eventually,
  HMAC_KEY,
  MERCHANT_ACCOUNT,
  TestGateway,
  WEBHOOK_PASSWORD,
  WEBHOOK_USER,
} from "../support/gateway.js";
import { freePort } from "../support/process.js";

const AMOUNT = 10_000;
let gw: TestGateway | undefined;
let sim: RunningSimulator | undefined;

afterEach(async () => {
  await gw?.close();
  await sim?.close();
  gw = undefined;
  sim = undefined;
});

async function startGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  gw = await TestGateway.start({ SIMULATOR_WEBHOOK_DELAY_MS: "20", ADYEN_TIMEOUT_MS: "600", ...env });
  return gw;
}

/** A 10,000 KRW payment the shopper authorised and Adyen's AUTHORISATION confirmed. */
async function paidPayment(g: TestGateway): Promise<{ id: string; pspReference: string }> {
  const started = await g.data(StartKakaoPayPaymentDocument, {
    input: { amount: { value: AMOUNT, currency: "KRW" }, reference: `order-${Date.now()}`, returnUrl: "https://shop.example/return" },
  });
  const payment = started.startKakaoPayPayment;
  await chooseOutcome((payment.action as { url: string }).url, "authorised");
  await eventually(async () => expect((await refunds(g, payment.id)).status).toBe("AUTHORISED"));
  return { id: payment.id, pspReference: payment.pspReference ?? "" };
}

async function refunds(g: TestGateway, id: string) {
  const data = await g.data(PaymentRefundsDocument, { id });
  if (!data.payment) throw new Error("payment not found");
  return data.payment;
}

function refund(g: TestGateway, input: RefundPaymentMutationVariables["input"], apiKey = ALPHA_KEY) {
  return g.request(RefundPaymentDocument, { input }, apiKey);
}

function refundsAtAdyen(): number {
  return (gw ?? { simulator: sim }).simulator!.control.stats().refundsCreated;
}

/** Collects every change of one payment after `afterVersion`, over a real graphql-ws socket. */
function watch(g: TestGateway, paymentId: string, afterVersion: number) {
  const events: RefundEventsSubscription["paymentStatusChanged"][] = [];
  const client = g.ws();
  const dispose = client.subscribe<RefundEventsSubscription>(
    { query: print(RefundEventsDocument), variables: { paymentId, afterVersion } },
    { next: (result) => result.data && events.push(result.data.paymentStatusChanged), error: () => {}, complete: () => {} },
  );
  return { events, dispose };
}

describe("refundPayment", () => {
  it("refunds in full: PENDING, then SUCCEEDED by the REFUND webhook; both changes reach a subscriber with the refund", async () => {
    const g = await startGateway();
    const payment = await paidPayment(g);
    const before = await refunds(g, payment.id);
    const live = watch(g, payment.id, before.version);

    const answer = await refund(g, { paymentId: payment.id });
    expect(answer.errors).toBeUndefined();
    const created = answer.data!.refundPayment;
    expect(created).toMatchObject({ paymentId: payment.id, amount: { value: AMOUNT, currency: "KRW" }, source: "API" });
    expect(created.reference).toMatch(/-R1$/);

    // Both: payment(id) reads the payment row and its refunds in separate statements, so one answer may show the
    // refund SUCCEEDED while the row is still at the version before (seen on PostgreSQL; the next read agrees).
    const after = await eventually(async () => {
      const p = await refunds(g, payment.id);
      expect(p.refunds[0]?.status).toBe("SUCCEEDED");
      expect(p.version).toBe(before.version + 2);
      return p;
    });
    expect(after.status).toBe("AUTHORISED");
    expect(after.refundedAmount).toEqual({ value: AMOUNT, currency: "KRW" });
    expect(after.refundableAmount).toEqual({ value: 0, currency: "KRW" });
    expect(after.refunds[0]?.pspReference).toMatch(/^[A-Z0-9]{16}$/);
    expect(after.version).toBe(before.version + 2);
    expect(after.events.slice(-2).map((e) => [e.status, e.source, e.refundStatus, e.refund?.id])).toEqual([
      ["AUTHORISED", "API", "PENDING", created.id],
      ["AUTHORISED", "WEBHOOK", "SUCCEEDED", created.id],
    ]);

    await eventually(async () => expect(live.events).toHaveLength(2));
    expect(live.events.map((e) => [e.version, e.status, e.previousStatus, e.refundStatus, e.refund?.id])).toEqual([
      [before.version + 1, "AUTHORISED", "AUTHORISED", "PENDING", created.id],
      [before.version + 2, "AUTHORISED", "AUTHORISED", "SUCCEEDED", created.id],
    ]);
    live.dispose();
  });

  it("takes partial refunds in turn and refuses one larger than what is left, sending nothing to Adyen", async () => {
    const g = await startGateway();
    const payment = await paidPayment(g);
    expect((await refund(g, { paymentId: payment.id, amount: { value: 3000, currency: "KRW" } })).errors).toBeUndefined();
    expect((await refund(g, { paymentId: payment.id, amount: { value: 4000, currency: "KRW" } })).errors).toBeUndefined();
    const sent = refundsAtAdyen();
    const tooMuch = await refund(g, { paymentId: payment.id, amount: { value: 3001, currency: "KRW" } });
    expect(tooMuch.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.amount" });
    expect(refundsAtAdyen()).toBe(sent);
    const p = await eventually(async () => {
      const current = await refunds(g, payment.id);
      expect(current.refunds.map((r) => r.status)).toEqual(["SUCCEEDED", "SUCCEEDED"]);
      // One answer, one view: the amounts agree with the refunds listed beside them.
      expect(current.refundedAmount.value).toBe(7000);
      return current;
    });
    expect(p.refunds.map((r) => r.reference.slice(-3))).toEqual(["-R1", "-R2"]);
    expect(p.refundedAmount.value).toBe(7000);
    expect(p.refundableAmount.value).toBe(3000);
    // Another currency, a zero amount: refused too.
    expect((await refund(g, { paymentId: payment.id, amount: { value: 100, currency: "USD" } })).errors?.[0]?.extensions?.code).toBe(
      "BAD_USER_INPUT",
    );
    expect((await refund(g, { paymentId: payment.id, amount: { value: 0, currency: "KRW" } })).errors?.[0]?.extensions?.code).toBe(
      "BAD_USER_INPUT",
    );
  });

  it("serialises 20 concurrent refunds of a tenth each: exactly 10 go through, and Adyen sees exactly 10", async () => {
    const g = await startGateway();
    const payment = await paidPayment(g);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => refund(g, { paymentId: payment.id, amount: { value: AMOUNT / 10, currency: "KRW" } })),
    );
    const ok = answers.filter((a) => !a.errors);
    const refused = answers.filter((a) => a.errors);
    expect(ok).toHaveLength(10);
    expect(refused.every((a) => a.errors?.[0]?.extensions?.code === "BAD_USER_INPUT")).toBe(true);
    expect(g.simulator.control.stats().requestsByPath["/v72/payments/{paymentPspReference}/refunds"]).toBe(10);
    const p = await eventually(async () => {
      const current = await refunds(g, payment.id);
      expect(current.refunds.filter((r) => r.status === "SUCCEEDED")).toHaveLength(10);
      return current;
    });
    expect(p.refundedAmount.value).toBe(AMOUNT);
    expect(p.refundableAmount.value).toBe(0);
  });

  it.each([
    ["FAIL", ["PENDING", "FAILED"], 0],
    ["LATEFAIL", ["PENDING", "SUCCEEDED", "FAILED"], 0],
    ["REVERSE", ["PENDING", "SUCCEEDED", "REVERSED"], 0],
  ])("%s…: the refund goes %j, each change published once, and its amount is released", async (prefix, statuses, refunded) => {
    const g = await startGateway();
    const payment = await paidPayment(g);
    const before = await refunds(g, payment.id);
    const live = watch(g, payment.id, before.version);
    const answer = await refund(g, { paymentId: payment.id, amount: { value: 2500, currency: "KRW" }, reference: `${prefix}-1` });
    expect(answer.errors).toBeUndefined();
    await eventually(async () => expect(live.events.map((e) => e.refundStatus)).toEqual(statuses));
    await g.simulator.control.idle();
    expect(live.events.map((e) => e.refundStatus)).toEqual(statuses);
    const p = await refunds(g, payment.id);
    expect(p.refunds[0]?.status).toBe(statuses.at(-1));
    if (prefix.endsWith("FAIL")) expect(p.refunds[0]?.reason).toBeTruthy();
    expect(p.refundedAmount.value).toBe(refunded);
    expect(p.refundableAmount.value).toBe(AMOUNT);
    live.dispose();
  });

  it("refuses a payment that is not AUTHORISED (INVALID_STATE) and another key's payment (NOT_FOUND)", async () => {
    const g = await startGateway();
    const open = await g.data(StartKakaoPayPaymentDocument, {
      input: { amount: { value: AMOUNT, currency: "KRW" }, reference: "order-open", returnUrl: "https://shop.example/return" },
    });
    const notPaid = await refund(g, { paymentId: open.startKakaoPayPayment.id });
    expect(notPaid.errors?.[0]?.extensions?.code).toBe("INVALID_STATE");

    const payment = await paidPayment(g);
    const other = await refund(g, { paymentId: payment.id }, BETA_KEY);
    expect(other.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const anonymous = await g.request(RefundPaymentDocument, { input: { paymentId: payment.id } }, null);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(g.simulator.control.stats().refundsCreated).toBe(0);
  });

  it("answers a repeated idempotencyKey with the same refund and no second Adyen call; another input is a conflict", async () => {
    const g = await startGateway();
    const payment = await paidPayment(g);
    const input = { paymentId: payment.id, amount: { value: 1000, currency: "KRW" }, idempotencyKey: "refund-once" };
    const [first, second] = await Promise.all([refund(g, input), refund(g, input)]);
    expect(first.data?.refundPayment.id).toBeDefined();
    expect(second.data?.refundPayment.id).toBe(first.data?.refundPayment.id);
    const again = await refund(g, { ...input, amount: { value: 1000, currency: "KRW" } });
    expect(again.data?.refundPayment.id).toBe(first.data?.refundPayment.id);
    const conflict = await refund(g, { ...input, amount: { value: 2000, currency: "KRW" } });
    expect(conflict.errors?.[0]?.extensions?.code).toBe("IDEMPOTENCY_CONFLICT");
    expect(g.simulator.control.stats().refundsCreated).toBe(1);
  });
});

describe("a refund Adyen does not answer", () => {
  it.each(["SLOW", "DOWN"])(
    "%s…: PROVIDER_UNAVAILABLE, then the gateway's own re-send reaches Adyen once and it ends SUCCEEDED",
    async (prefix) => {
      const g = await startGateway();
      const payment = await paidPayment(g);
      const answer = await refund(g, { paymentId: payment.id, amount: { value: 1000, currency: "KRW" }, reference: `${prefix}-1` });
      expect(answer.errors?.[0]?.extensions?.code).toBe("PROVIDER_UNAVAILABLE");
      const p = await eventually(async () => {
        const current = await refunds(g, payment.id);
        expect(current.refunds[0]?.status).toBe("SUCCEEDED");
        return current;
      }, 20_000);
      expect(p.refunds).toHaveLength(1);
      expect(p.refundedAmount.value).toBe(1000);
      expect(g.simulator.control.stats().refundsCreated).toBe(1);
    },
  );

  it("is re-sent after the gateway restarts, and reaches Adyen once", async () => {
    const port = await freePort();
    sim = await startSimulator({
      port: 0,
      apiKey: "simulator-api-key-0123456789",
      merchantAccount: MERCHANT_ACCOUNT,
      webhook: { url: `http://127.0.0.1:${port}/webhooks/adyen`, hmacKeyHex: HMAC_KEY, username: WEBHOOK_USER, password: WEBHOOK_PASSWORD },
      webhookDelayMs: 20,
      retryScheduleMs: [200, 200, 500, 1000, 2000, 4000],
    });
    const env = { PORT: String(port), SIMULATOR_URL: sim.url, ADYEN_API_KEY: "simulator-api-key-0123456789", ADYEN_TIMEOUT_MS: "600" };
    const first = await TestGateway.start(env);
    gw = first;
    const payment = await paidPayment(first);
    const answer = await refund(first, { paymentId: payment.id, amount: { value: 1000, currency: "KRW" }, reference: "DOWN-restart" });
    expect(answer.errors?.[0]?.extensions?.code).toBe("PROVIDER_UNAVAILABLE");
    await first.close({ keepData: true });

    gw = await TestGateway.start(env, first.dir);
    const p = await eventually(async () => {
      const current = await refunds(gw!, payment.id);
      expect(current.refunds[0]?.status).toBe("SUCCEEDED");
      return current;
    }, 20_000);
    expect(p.refunds).toHaveLength(1);
    expect(sim.control.stats().refundsCreated).toBe(1);
  });
});

describe("refund webhooks", () => {
  it("records a refund made elsewhere (source WEBHOOK) once, and applies a REFUND that beats the refund's pspReference", async () => {
    const g = await startGateway();
    const payment = await paidPayment(g);
    const item = {
      eventCode: "REFUND",
      success: "true" as const,
      pspReference: "CUSTOMERAREA0001",
      originalReference: payment.pspReference,
      merchantReference: "made-in-customer-area",
      amount: { value: 1500, currency: "KRW" },
    };
    g.simulator.control.sendWebhook(item);
    g.simulator.control.sendWebhook(item);
    await g.simulator.control.idle();
    const p = await eventually(async () => {
      const current = await refunds(g, payment.id);
      expect(current.refunds).toHaveLength(1);
      return current;
    });
    expect(p.refunds[0]).toMatchObject({
      source: "WEBHOOK",
      status: "SUCCEEDED",
      reference: "made-in-customer-area",
      pspReference: "CUSTOMERAREA0001",
    });
    expect(p.refundedAmount.value).toBe(1500);
    expect(p.events.filter((e) => e.refund)).toHaveLength(1);

    // Adyen processes our refund but its answer is lost: its REFUND webhook comes first and is matched by reference.
    g.simulator.control.setFaults({ mode: "timeout", count: 1, paths: ["/payments/{paymentPspReference}/refunds"] });
    const answer = await refund(g, { paymentId: payment.id, amount: { value: 500, currency: "KRW" }, reference: "early-R" });
    expect(answer.errors?.[0]?.extensions?.code).toBe("PROVIDER_UNAVAILABLE");
    const after = await eventually(async () => {
      const current = await refunds(g, payment.id);
      expect(current.refunds.find((r) => r.reference === "early-R")?.status).toBe("SUCCEEDED");
      return current;
    });
    expect(after.refunds).toHaveLength(2);
    expect(after.refundedAmount.value).toBe(2000);
    expect(g.simulator.control.stats().refundsCreated).toBe(1);
  });
});
