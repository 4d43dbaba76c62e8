import { readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { SimulatorOptions } from "../../src/simulator/index.js";
import { specDirectory, webhooksSpec } from "../../src/simulator/spec.js";
import { hmacSignature, hmacSigningPayload, type NotificationItem } from "../../src/simulator/webhooks.js";
import {
  API_KEY,
  HMAC_KEY_HEX,
  MERCHANT_ACCOUNT,
  WEBHOOK_PASSWORD,
  chooseOutcome,
  expectAuthentic,
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

/** Creates a redirect payment and has the shopper choose an outcome; returns the payment's pspReference. */
async function payThroughPage(test: TestSimulator, outcome: string, overrides: Record<string, unknown> = {}): Promise<string> {
  const answer = await test.api("POST", "/v72/payments", { body: redirectPaymentRequest(overrides) });
  expect(answer.status).toBe(200);
  expect((await chooseOutcome(answer.body.action.url, outcome)).status).toBe(303);
  return answer.body.pspReference;
}

const storing = { storePaymentMethod: true, shopperReference: "shopper-42", reference: "order-store" };

describe("HMAC signing", () => {
  it("matches the known vector", () => {
    expect(
      hmacSignature(
        "pspReference:originalReference:merchantAccount:reference:1000:EUR:REPORT_AVAILABLE:true",
        "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00",
      ),
    ).toBe("ZNBPtI+oDyyRrLyD1XirkKnQgIAlFc07Vj27TeHsDRE=");
  });

  it("signs the item's fields in Adyen's order, an absent originalReference left empty", () => {
    const item: NotificationItem = {
      amount: { value: 12300, currency: "KRW" },
      eventCode: "AUTHORISATION",
      eventDate: "2024-05-01T09:30:00+00:00",
      merchantAccountCode: "Merchant",
      merchantReference: "order-1",
      pspReference: "PSP0000000000001",
      success: "true",
    };
    expect(hmacSigningPayload(item)).toBe("PSP0000000000001::Merchant:order-1:12300:KRW:AUTHORISATION:true");
    expect(hmacSigningPayload({ ...item, originalReference: "ORIGINAL" })).toBe(
      "PSP0000000000001:ORIGINAL:Merchant:order-1:12300:KRW:AUTHORISATION:true",
    );
  });
});

describe("Webhooks-v1.json", () => {
  it("accepts Adyen's own examples once the missing additionalData keys are added", () => {
    const spec = JSON.parse(readFileSync(path.join(specDirectory(), "Webhooks-v1.json"), "utf8")) as {
      components: { examples: Record<string, { value: unknown }> };
    };
    for (const [eventCode, example] of [
      ["AUTHORISATION", "post-AUTHORISATION-authorisation"],
      ["OFFER_CLOSED", "post-OFFER_CLOSED-offer_closed"],
      ["RECURRING_CONTRACT", "post-RECURRING_CONTRACT-recurring_contract"],
    ] as const) {
      expect(webhooksSpec().validateNotification(eventCode, spec.components.examples[example]?.value)).toBeUndefined();
    }
    expect(
      webhooksSpec().validateNotification("AUTHORISATION", { live: "false", notificationItems: [{ NotificationRequestItem: {} }] }),
    ).toBeDefined();
  });
});

describe("AUTHORISATION after the shopper's choice", () => {
  it.each([
    ["authorised", "true", undefined],
    ["refused", "false", "Refused"],
    ["cancelled", "false", "Cancelled"],
    ["error", "false", "Acquirer Error"],
    ["pending", "true", undefined],
  ])("%s sends success=%s", async (outcome, success, reason) => {
    const test = await start();
    const pspReference = await payThroughPage(test, outcome, { reference: `order-${outcome}` });
    await test.simulator.control.idle();

    expect(test.receiver.received).toHaveLength(1);
    const [webhook] = test.receiver.received;
    if (webhook === undefined) throw new Error("no webhook");
    expectAuthentic(webhook);
    expect(webhook.body.live).toBe("false");
    expect(webhook.item).toMatchObject({
      eventCode: "AUTHORISATION",
      pspReference,
      merchantReference: `order-${outcome}`,
      merchantAccountCode: MERCHANT_ACCOUNT,
      amount: { value: 12300, currency: "KRW" },
      success,
      paymentMethod: "kakaopay",
    });
    expect(webhook.item.reason).toBe(reason);
    expect(webhook.item.eventDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
  });

  it("settles a pending payment as authorised when its delayed webhook goes out", async () => {
    const test = await start({ pendingDelayMs: 30 });
    const pspReference = await payThroughPage(test, "pending");
    expect(test.simulator.control.payments()[0]?.status).toBe("Pending");
    await test.simulator.control.idle();
    expect(test.simulator.control.payments()[0]).toMatchObject({ pspReference, status: "Authorised", outcome: "pending" });
  });

  it("is sent whether or not details are ever submitted, and only once", async () => {
    const test = await start();
    await payThroughPage(test, "authorised");
    await test.simulator.control.idle();
    expect(test.simulator.control.stats()).toMatchObject({ webhooksDelivered: 1, webhooksFailed: 0, pendingDeliveries: 0 });
  });
});

describe("delivery", () => {
  it("retries after a 500 and stops once accepted", async () => {
    const test = await start();
    test.receiver.answerWith((attempt) => (attempt === 0 ? { status: 500, body: "oops" } : { status: 200, body: "[accepted]" }));
    await payThroughPage(test, "authorised");
    await test.simulator.control.idle();
    expect(test.receiver.attempts()).toBe(2);
    expect(test.receiver.received).toHaveLength(1);
    expect(test.simulator.control.stats()).toMatchObject({ webhooksDelivered: 1, webhooksFailed: 0, pendingDeliveries: 0 });
  });

  it("counts a 2xx without [accepted] as a failure", async () => {
    const test = await start();
    test.receiver.answerWith((attempt) => (attempt === 0 ? { status: 200, body: "ok" } : { status: 200, body: "[accepted]" }));
    await payThroughPage(test, "refused");
    await test.simulator.control.idle();
    expect(test.receiver.attempts()).toBe(2);
  });

  it("gives up after the last retry and logs it", async () => {
    const test = await start({ retryScheduleMs: [5, 5] });
    test.receiver.answerWith(() => ({ status: 503, body: "down" }));
    await payThroughPage(test, "authorised");
    await test.simulator.control.idle();
    expect(test.receiver.attempts()).toBe(3);
    expect(test.simulator.control.stats()).toMatchObject({ webhooksDelivered: 0, webhooksFailed: 1, pendingDeliveries: 0 });
    expect(test.logs.some((line) => line.includes("giving up"))).toBe(true);
  });

  it("sends nothing without a webhook target", async () => {
    const test = await start({ webhook: undefined });
    await payThroughPage(test, "authorised");
    await test.simulator.control.idle();
    expect(test.receiver.attempts()).toBe(0);
  });

  it("never logs a secret", async () => {
    const test = await start();
    test.receiver.answerWith((attempt) => (attempt === 0 ? { status: 401, body: "no" } : { status: 200, body: "[accepted]" }));
    await payThroughPage(test, "authorised", storing);
    await test.simulator.control.idle();
    const basic = Buffer.from(`adyen-webhooks:${WEBHOOK_PASSWORD}`).toString("base64");
    for (const secret of [API_KEY, HMAC_KEY_HEX, WEBHOOK_PASSWORD, basic]) {
      expect(test.logs.join("\n")).not.toContain(secret);
    }
  });
});

describe("RECURRING_CONTRACT and tokens", () => {
  it("follows AUTHORISATION for a payment that stored the method", async () => {
    const test = await start();
    const pspReference = await payThroughPage(test, "authorised", storing);
    await test.simulator.control.idle();

    expect(test.receiver.received.map((webhook) => webhook.item.eventCode)).toEqual(["AUTHORISATION", "RECURRING_CONTRACT"]);
    const recurring = test.receiver.received[1];
    if (recurring === undefined) throw new Error("no RECURRING_CONTRACT");
    expectAuthentic(recurring);
    const token = recurring.item.pspReference;
    expect(token).toMatch(/^[A-Z0-9]{16}$/);
    expect(recurring.item).toMatchObject({
      originalReference: pspReference,
      merchantReference: "order-store",
      success: "true",
      paymentMethod: "kakaopay",
      amount: { value: 12300, currency: "KRW" },
    });
    expect(recurring.item.additionalData).toMatchObject({
      "recurring.shopperReference": "shopper-42",
      shopperReference: "shopper-42",
      "recurring.recurringDetailReference": token,
    });

    const listed = await test.api("GET", `/v72/storedPaymentMethods?merchantAccount=${MERCHANT_ACCOUNT}&shopperReference=shopper-42`);
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({
      merchantAccount: MERCHANT_ACCOUNT,
      shopperReference: "shopper-42",
      storedPaymentMethods: [
        {
          id: token,
          type: "kakaopay",
          shopperReference: "shopper-42",
          firstPspReference: pspReference,
          supportedRecurringProcessingModels: ["Subscription", "UnscheduledCardOnFile"],
        },
      ],
    });
  });

  it("charges a stored method and sends its AUTHORISATION", async () => {
    const test = await start();
    await payThroughPage(test, "authorised", storing);
    await test.simulator.control.idle();
    const token = test.receiver.received[1]?.item.pspReference;

    const charge = await test.api("POST", "/v72/payments", {
      body: redirectPaymentRequest({
        reference: "renewal-1",
        paymentMethod: { type: "kakaopay", storedPaymentMethodId: token },
        shopperReference: "shopper-42",
        shopperInteraction: "ContAuth",
        recurringProcessingModel: "Subscription",
        amount: { value: 9900, currency: "KRW" },
      }),
    });
    expect(charge.status).toBe(200);
    expect(charge.body).toMatchObject({
      resultCode: "Authorised",
      merchantReference: "renewal-1",
      amount: { value: 9900, currency: "KRW" },
    });
    expect(charge.body.action).toBeUndefined();

    await test.simulator.control.idle();
    const authorisation = test.receiver.received[2];
    if (authorisation === undefined) throw new Error("no AUTHORISATION for the charge");
    expectAuthentic(authorisation);
    expect(authorisation.item).toMatchObject({ eventCode: "AUTHORISATION", pspReference: charge.body.pspReference, success: "true" });
  });

  it("refuses another shopper's token, an unknown one and a deleted one with 800", async () => {
    const test = await start();
    await payThroughPage(test, "authorised", storing);
    await test.simulator.control.idle();
    const token = test.receiver.received[1]?.item.pspReference ?? "";
    const charge = (storedPaymentMethodId: string, shopperReference: string, recurringProcessingModel = "UnscheduledCardOnFile") =>
      test.api("POST", "/v72/payments", {
        body: redirectPaymentRequest({
          paymentMethod: { type: "kakaopay", storedPaymentMethodId },
          shopperReference,
          shopperInteraction: "ContAuth",
          recurringProcessingModel,
        }),
      });

    expect((await charge(token, "someone-else")).body).toMatchObject({ status: 422, errorCode: "800", message: "Contract not found" });
    expect((await charge("UNKNOWNTOKEN0000", "shopper-42")).body).toMatchObject({ errorCode: "800" });
    expect((await charge(token, "shopper-42", "CardOnFile")).status).toBe(422);

    const query = `merchantAccount=${MERCHANT_ACCOUNT}&shopperReference=shopper-42`;
    expect(
      (await test.api("DELETE", `/v72/storedPaymentMethods/${token}?merchantAccount=${MERCHANT_ACCOUNT}&shopperReference=someone-else`))
        .status,
    ).toBe(422);
    const deleted = await test.api("DELETE", `/v72/storedPaymentMethods/${token}?${query}`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    expect((await test.api("DELETE", `/v72/storedPaymentMethods/${token}?${query}`)).body).toMatchObject({ errorCode: "800" });
    expect((await test.api("GET", `/v72/storedPaymentMethods?${query}`)).body.storedPaymentMethods).toEqual([]);
    expect((await charge(token, "shopper-42")).body).toMatchObject({ errorCode: "800" });
    expect((await test.api("GET", `/v72/storedPaymentMethods?merchantAccount=Other&shopperReference=shopper-42`)).status).toBe(403);
  });
});

describe("webhook behaviours", () => {
  it("duplicates every webhook", async () => {
    const test = await start();
    test.simulator.control.setWebhookBehaviour({ duplicates: true });
    await payThroughPage(test, "authorised", storing);
    await test.simulator.control.idle();
    expect(test.receiver.received.map((webhook) => webhook.item.eventCode)).toEqual([
      "AUTHORISATION",
      "AUTHORISATION",
      "RECURRING_CONTRACT",
      "RECURRING_CONTRACT",
    ]);
    expect(test.receiver.received[0]?.body).toEqual(test.receiver.received[1]?.body);
  });

  it.each([[{ reverseOrder: true }], [{ recurringContractFirst: true }]])("%j puts RECURRING_CONTRACT first", async (behaviour) => {
    const test = await start();
    test.simulator.control.setWebhookBehaviour(behaviour);
    await payThroughPage(test, "authorised", storing);
    await test.simulator.control.idle();
    expect(test.receiver.received.map((webhook) => webhook.item.eventCode)).toEqual(["RECURRING_CONTRACT", "AUTHORISATION"]);
  });

  it("drops RECURRING_CONTRACT while the token still exists", async () => {
    const test = await start();
    test.simulator.control.setWebhookBehaviour({ dropEventCodes: ["RECURRING_CONTRACT"] });
    await payThroughPage(test, "authorised", storing);
    await test.simulator.control.idle();
    expect(test.receiver.received.map((webhook) => webhook.item.eventCode)).toEqual(["AUTHORISATION"]);
    const listed = await test.api("GET", `/v72/storedPaymentMethods?merchantAccount=${MERCHANT_ACCOUNT}&shopperReference=shopper-42`);
    expect(listed.body.storedPaymentMethods).toHaveLength(1);
  });

  it("goes back to normal on reset", async () => {
    const test = await start();
    test.simulator.control.setWebhookBehaviour({ duplicates: true, dropEventCodes: ["AUTHORISATION"] });
    test.simulator.control.reset();
    await payThroughPage(test, "authorised");
    await test.simulator.control.idle();
    expect(test.receiver.received.map((webhook) => webhook.item.eventCode)).toEqual(["AUTHORISATION"]);
  });
});

describe("OFFER_CLOSED", () => {
  it("is sent when the offer TTL passes without a choice", async () => {
    const test = await start({ offerTtlMs: 30 });
    const answer = await test.api("POST", "/v72/payments", { body: redirectPaymentRequest({ reference: "order-abandoned" }) });
    await test.simulator.control.idle();
    expect(test.receiver.received).toHaveLength(1);
    const [closed] = test.receiver.received;
    if (closed === undefined) throw new Error("no OFFER_CLOSED");
    expectAuthentic(closed);
    expect(closed.item).toMatchObject({
      eventCode: "OFFER_CLOSED",
      pspReference: answer.body.pspReference,
      merchantReference: "order-abandoned",
      success: "true",
    });
    expect((await chooseOutcome(answer.body.action.url, "authorised")).status).toBe(410);
  });

  it("is not sent once the shopper has chosen", async () => {
    const test = await start({ offerTtlMs: 30 });
    await payThroughPage(test, "refused");
    await test.simulator.control.idle();
    await new Promise((resolve) => setTimeout(resolve, 40));
    await test.simulator.control.idle();
    expect(test.receiver.received.map((webhook) => webhook.item.eventCode)).toEqual(["AUTHORISATION"]);
  });

  it("is sent at once by expireSession, which refuses a decided or unknown session", async () => {
    const test = await start();
    const answer = await test.api("POST", "/v72/payments", { body: redirectPaymentRequest() });
    const sessionId = new URL(answer.body.action.url).pathname.split("/").pop() ?? "";
    test.simulator.control.expireSession(sessionId);
    await test.simulator.control.idle();
    expect(test.receiver.received.map((webhook) => webhook.item.eventCode)).toEqual(["OFFER_CLOSED"]);
    expect(() => test.simulator.control.expireSession(sessionId)).toThrow(/no longer open/);
    expect(() => test.simulator.control.expireSession("NOSUCHPAYMENT000")).toThrow(/no redirect payment/);
  });
});

describe("sendWebhook", () => {
  it("signs and sends an arbitrary item", async () => {
    const test = await start();
    test.simulator.control.sendWebhook({
      amount: { value: 500, currency: "KRW" },
      eventCode: "AUTHORISATION",
      merchantReference: "manual-1",
      pspReference: "MANUAL0000000001",
      success: "false",
      reason: "Fraud",
    });
    await test.simulator.control.idle();
    const [webhook] = test.receiver.received;
    if (webhook === undefined) throw new Error("nothing sent");
    expectAuthentic(webhook);
    expect(webhook.item).toMatchObject({ merchantAccountCode: MERCHANT_ACCOUNT, reason: "Fraud", success: "false" });
  });

  it("refuses an item that does not match the spec", async () => {
    const test = await start();
    expect(() =>
      test.simulator.control.sendWebhook({
        amount: { value: 500, currency: "KRW" },
        eventCode: "NOT_AN_EVENT",
        merchantReference: "m",
        pspReference: "P",
        success: "true",
      }),
    ).toThrow(/Webhooks-v1.json/);
    expect(() => test.simulator.control.sendWebhook({} as never)).toThrow(/eventCode/);
  });
});
