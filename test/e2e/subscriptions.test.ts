import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { PaymentDocument, PaymentStatusChangedDocument, StartKakaoPayPaymentDocument } from "../generated/graphql.js";
import { ALPHA_KEY, BETA_KEY, eventually, TestGateway } from "../support/gateway.js";
import { notificationBody, postWebhook, signedItem } from "../support/webhooks.js";

let gw: TestGateway;
beforeAll(async () => {
  gw = await TestGateway.start();
});
afterAll(() => gw.close());

const SUBSCRIPTION = print(PaymentStatusChangedDocument);
const active = () => gw.gateway.metrics.value("gateway_subscriptions_active");

let counter = 0;
async function startPayment(apiKey = ALPHA_KEY) {
  const reference = `subs-${++counter}`;
  const payment = (
    await gw.data(
      StartKakaoPayPaymentDocument,
      { input: { amount: { value: 12300, currency: "KRW" }, reference, returnUrl: "https://shop.example/r" } },
      apiKey,
    )
  ).startKakaoPayPayment;
  return { ...payment, reference };
}

/** A payment that will never change again: the shopper never finished, and OFFER_CLOSED expired it. */
async function expiredPayment() {
  const p = await startPayment();
  await postWebhook(
    gw.url,
    notificationBody([signedItem({ eventCode: "OFFER_CLOSED", pspReference: p.pspReference!, merchantReference: p.reference })]),
  );
  await eventually(async () => expect((await gw.data(PaymentDocument, { id: p.id })).payment?.status).toBe("EXPIRED"));
  return p;
}

type Message = { id?: string; type: string; payload?: unknown };

/** A raw graphql-transport-ws socket, authenticated: sends exactly what a test says, when it says. */
async function socket() {
  const ws = new WebSocket(`${gw.url.replace("http", "ws")}/graphql`, "graphql-transport-ws");
  const messages: Message[] = [];
  const closed = new Promise<void>((resolve) => ws.on("close", () => resolve()));
  ws.on("message", (data) => messages.push(JSON.parse(data.toString()) as Message));
  await new Promise<void>((resolve, reject) => {
    ws.on("open", resolve);
    ws.on("error", reject);
  });
  ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${ALPHA_KEY}` } }));
  await eventually(async () => expect(messages.some((m) => m.type === "connection_ack")).toBe(true));
  return {
    messages,
    subscribe(id: string, variables: Record<string, unknown>, query = SUBSCRIPTION) {
      ws.send(JSON.stringify({ id, type: "subscribe", payload: { query, variables } }));
    },
    complete(id: string) {
      ws.send(JSON.stringify({ id, type: "complete" }));
    },
    async close() {
      ws.close();
      await closed;
    },
  };
}

describe("gateway_subscriptions_active: every way a subscription ends releases it", () => {
  it("counts open subscriptions, and releases those a client completes right after subscribing", async () => {
    const p = await startPayment();
    const s = await socket();
    s.subscribe("held", { paymentId: p.id });
    await eventually(async () => expect(await active()).toBe(1));
    for (let i = 0; i < 50; i++) {
      s.subscribe(`quick-${i}`, { paymentId: p.id });
      s.complete(`quick-${i}`);
    }
    await eventually(async () => expect(await active()).toBe(1));
    s.complete("held");
    await eventually(async () => expect(await active()).toBe(0));
    await s.close();
  });

  it("releases subscriptions waiting on a live payment when their socket closes", async () => {
    const p = await startPayment();
    const sockets = await Promise.all(Array.from({ length: 5 }, () => socket()));
    sockets.forEach((s, i) => {
      s.subscribe(`wait-${i}`, { paymentId: p.id, afterVersion: 1 });
    });
    await eventually(async () => expect(await active()).toBe(5));
    await Promise.all(sockets.map((s) => s.close()));
    await eventually(async () => expect(await active()).toBe(0));
  });

  it("releases a subscription to a final payment, after its replay, when the client completes or the socket closes", async () => {
    const p = await expiredPayment();
    const s = await socket();
    s.subscribe("final-a", { paymentId: p.id, afterVersion: 0 });
    s.subscribe("final-b", { paymentId: p.id, afterVersion: 0 });
    await eventually(async () => expect(s.messages.filter((m) => m.type === "next")).toHaveLength(4));
    expect(await active()).toBe(2);
    s.complete("final-a");
    await eventually(async () => expect(await active()).toBe(1));
    await s.close();
    await eventually(async () => expect(await active()).toBe(0));
  });

  it("holds nothing for subscriptions that end in an error", async () => {
    const mine = await startPayment();
    const theirs = await startPayment(BETA_KEY);
    const s = await socket();
    s.subscribe("held", { paymentId: mine.id });
    await eventually(async () => expect(await active()).toBe(1));
    s.subscribe("not-found", { paymentId: theirs.id });
    s.subscribe("unknown", { paymentId: "pay_unknown" });
    s.subscribe("ahead", { paymentId: mine.id, afterVersion: 9 });
    s.subscribe("negative", { paymentId: mine.id, afterVersion: -1 });
    await eventually(async () => {
      const codes = s.messages
        .filter((m) => m.type === "next")
        .map((m) => [m.id, (m.payload as { errors?: Array<{ extensions: { code: string } }> }).errors?.[0]?.extensions.code]);
      expect(codes).toEqual(
        expect.arrayContaining([
          ["not-found", "NOT_FOUND"],
          ["unknown", "NOT_FOUND"],
          ["ahead", "BAD_USER_INPUT"],
          ["negative", "BAD_USER_INPUT"],
        ]),
      );
    });
    expect(await active()).toBe(1);
    await s.close();
    await eventually(async () => expect(await active()).toBe(0));
  });
});

describe("paymentStatusChanged's payment as of each event", () => {
  it("shows a replayed event's payment with the history up to that event only", async () => {
    const p = await expiredPayment();
    const s = await socket();
    s.subscribe(
      "history",
      { paymentId: p.id },
      `subscription ($paymentId: ID!) { paymentStatusChanged(paymentId: $paymentId, afterVersion: 0) {
        version status payment { version status nextStep action events { version status } } } }`,
    );
    await eventually(async () => expect(s.messages.filter((m) => m.type === "next")).toHaveLength(2));
    const events = s.messages
      .filter((m) => m.type === "next")
      .map((m) => (m.payload as { data: { paymentStatusChanged: unknown } }).data.paymentStatusChanged);
    expect(events).toEqual([
      {
        version: 1,
        status: "ACTION_REQUIRED",
        payment: {
          version: 1,
          status: "ACTION_REQUIRED",
          nextStep: "COMPLETE_REDIRECT",
          action: p.action,
          events: [{ version: 1, status: "ACTION_REQUIRED" }],
        },
      },
      {
        version: 2,
        status: "EXPIRED",
        payment: {
          version: 2,
          status: "EXPIRED",
          nextStep: "SHOW_TIMED_OUT",
          action: null,
          events: [
            { version: 1, status: "ACTION_REQUIRED" },
            { version: 2, status: "EXPIRED" },
          ],
        },
      },
    ]);
    await s.close();
  });
});
