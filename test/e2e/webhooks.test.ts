import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  PaymentDocument,
  PaymentStatusChangedDocument,
  type PaymentStatusChangedSubscription,
  StartKakaoPayPaymentDocument,
  SubmitPaymentDetailsDocument,
} from "../generated/graphql.js";
import { ALPHA_KEY, BETA_KEY, chooseOutcome, eventually, PREVIOUS_HMAC_KEY, tableRows, TestGateway } from "../support/gateway.js";
import { notificationBody, postWebhook, signedItem } from "../support/webhooks.js";
import { print } from "graphql";

let gw: TestGateway;
beforeAll(async () => {
  gw = await TestGateway.start();
});
afterAll(() => gw.close());

let counter = 0;
async function startPayment(apiKey = ALPHA_KEY) {
  const reference = `wh-order-${++counter}`;
  const payment = (
    await gw.data(
      StartKakaoPayPaymentDocument,
      { input: { amount: { value: 12300, currency: "KRW" }, reference, returnUrl: "https://shop.example/r" } },
      apiKey,
    )
  ).startKakaoPayPayment;
  return { ...payment, pspReference: payment.pspReference!, reference };
}

async function current(id: string, apiKey = ALPHA_KEY) {
  return (await gw.data(PaymentDocument, { id }, apiKey)).payment!;
}

async function send(...items: Array<Record<string, unknown>>) {
  return postWebhook(gw.url, notificationBody(items));
}

/** A real graphql-ws subscription that collects events; resolves `ready` once the server acknowledged it. */
function subscribe(paymentId: string, afterVersion?: number, apiKey = ALPHA_KEY) {
  const events: PaymentStatusChangedSubscription["paymentStatusChanged"][] = [];
  const errors: unknown[] = [];
  const client = gw.ws(apiKey);
  const dispose = client.subscribe<PaymentStatusChangedSubscription>(
    { query: print(PaymentStatusChangedDocument), variables: { paymentId, afterVersion } },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        if (result.data) events.push(result.data.paymentStatusChanged);
      },
      error: (error) => errors.push(error),
      complete: () => {},
    },
  );
  return { events, errors, dispose };
}

describe("POST /webhooks/adyen: authentication and shape", () => {
  it("answers 401 and stores nothing on wrong basic auth", async () => {
    const { pspReference, reference } = await startPayment();
    const before = (await tableRows(gw, "notification_inbox")).length;
    const result = await postWebhook(
      gw.url,
      notificationBody([signedItem({ eventCode: "AUTHORISATION", pspReference, merchantReference: reference })]),
      { user: "adyen-test", password: "wrong" },
    );
    expect(result.status).toBe(401);
    expect(await tableRows(gw, "notification_inbox")).toHaveLength(before);
  });

  it("answers 401 and stores nothing when one item's HMAC is wrong", async () => {
    const { pspReference, reference, id } = await startPayment();
    const good = signedItem({ eventCode: "AUTHORISATION", pspReference, merchantReference: reference });
    const forged = signedItem({ eventCode: "AUTHORISATION", pspReference, merchantReference: reference }, "00".repeat(32));
    const before = (await tableRows(gw, "notification_inbox")).length;
    expect((await send(good, forged)).status).toBe(401);
    expect(await tableRows(gw, "notification_inbox")).toHaveLength(before);
    expect((await current(id)).status).toBe("ACTION_REQUIRED");
  });

  it("accepts items signed with the previous key during a rotation", async () => {
    const { pspReference, reference, id } = await startPayment();
    const result = await send(signedItem({ eventCode: "AUTHORISATION", pspReference, merchantReference: reference }, PREVIOUS_HMAC_KEY));
    expect(result).toEqual({ status: 200, text: "[accepted]" });
    await eventually(async () => expect((await current(id)).status).toBe("AUTHORISED"));
  });

  it.each([
    ["not JSON", "{not json"],
    ["no items", JSON.stringify({ live: "false", notificationItems: [] })],
    [
      "an item without pspReference",
      JSON.stringify({
        notificationItems: [{ NotificationRequestItem: { eventCode: "AUTHORISATION", success: "true", merchantAccountCode: "x" } }],
      }),
    ],
  ])("answers 400 to %s", async (_name, body) => {
    expect((await postWebhook(gw.url, body)).status).toBe(400);
  });

  it("stores and acknowledges an eventCode it does not handle, and changes nothing", async () => {
    const { pspReference, reference, id } = await startPayment();
    const result = await send(signedItem({ eventCode: "REPORT_AVAILABLE", pspReference, merchantReference: reference }));
    expect(result).toEqual({ status: 200, text: "[accepted]" });
    await eventually(async () => {
      const row = (await tableRows(gw, "notification_inbox")).find((r) => r.psp_reference === pspReference);
      expect(row).toMatchObject({ event_code: "REPORT_AVAILABLE", outcome: "unhandled_event" });
    });
    expect((await current(id)).version).toBe(1);
  });

  it("stores but never applies an item for another merchant account", async () => {
    const { pspReference, reference, id } = await startPayment();
    await send(signedItem({ eventCode: "AUTHORISATION", pspReference, merchantReference: reference, merchantAccountCode: "SomeoneElse" }));
    await eventually(async () => {
      const row = (await tableRows(gw, "notification_inbox")).find((r) => r.psp_reference === pspReference);
      expect(row).toMatchObject({ outcome: "other_merchant_account" });
    });
    expect((await current(id)).status).toBe("ACTION_REQUIRED");
  });

  it("handles a batch item by item", async () => {
    const a = await startPayment();
    const b = await startPayment();
    const result = await send(
      signedItem({ eventCode: "AUTHORISATION", pspReference: a.pspReference, merchantReference: a.reference }),
      signedItem({
        eventCode: "AUTHORISATION",
        pspReference: b.pspReference,
        merchantReference: b.reference,
        success: false,
        reason: "Refused",
      }),
      signedItem({ eventCode: "REPORT_AVAILABLE", pspReference: "REPORT000000001", merchantReference: "report" }),
    );
    expect(result.status).toBe(200);
    await eventually(async () => {
      expect((await current(a.id)).status).toBe("AUTHORISED");
      expect(await current(b.id)).toMatchObject({ status: "REFUSED", refusalReason: "Refused", nextStep: "ASK_DIFFERENT_METHOD" });
    });
  });
});

describe("the status rules, driven by webhooks", () => {
  it("changes nothing and publishes nothing for a duplicate", async () => {
    const p = await startPayment();
    // afterVersion 1: whether the socket is live before or after the webhook, AUTHORISED arrives exactly once.
    const watch = subscribe(p.id, 1);
    const item = signedItem({ eventCode: "AUTHORISATION", pspReference: p.pspReference, merchantReference: p.reference });
    await send(item);
    await eventually(async () => expect(watch.events.map((e) => e.status)).toEqual(["AUTHORISED"]));
    expect(await send(item)).toEqual({ status: 200, text: "[accepted]" });
    await new Promise((r) => setTimeout(r, 200));
    expect(watch.events).toHaveLength(1);
    const after = await current(p.id);
    expect(after.version).toBe(2);
    expect(after.events).toHaveLength(2);
    watch.dispose();
  });

  it("expires an unfinished payment on OFFER_CLOSED, and never an authorised one", async () => {
    const open = await startPayment();
    await send(signedItem({ eventCode: "OFFER_CLOSED", pspReference: open.pspReference, merchantReference: open.reference }));
    await eventually(async () =>
      expect(await current(open.id)).toMatchObject({ status: "EXPIRED", nextStep: "SHOW_TIMED_OUT", version: 2 }),
    );

    const paid = await startPayment();
    await send(signedItem({ eventCode: "AUTHORISATION", pspReference: paid.pspReference, merchantReference: paid.reference }));
    await eventually(async () => expect((await current(paid.id)).status).toBe("AUTHORISED"));
    await send(signedItem({ eventCode: "OFFER_CLOSED", pspReference: paid.pspReference, merchantReference: paid.reference }));
    await eventually(async () => {
      const row = (await tableRows(gw, "notification_inbox")).find(
        (r) => r.psp_reference === paid.pspReference && r.event_code === "OFFER_CLOSED",
      );
      expect(row?.applied_at).toBeTruthy();
    });
    expect(await current(paid.id)).toMatchObject({ status: "AUTHORISED", version: 2 });
  });

  it("authorises an EXPIRED payment on AUTHORISATION true, and records both", async () => {
    const p = await startPayment();
    await send(signedItem({ eventCode: "OFFER_CLOSED", pspReference: p.pspReference, merchantReference: p.reference }));
    await eventually(async () => expect((await current(p.id)).status).toBe("EXPIRED"));
    await send(signedItem({ eventCode: "AUTHORISATION", pspReference: p.pspReference, merchantReference: p.reference }));
    await eventually(async () => expect((await current(p.id)).status).toBe("AUTHORISED"));
    expect((await current(p.id)).events.map((e) => [e.version, e.status, e.source, e.eventCode])).toEqual([
      [1, "ACTION_REQUIRED", "API", null],
      [2, "EXPIRED", "WEBHOOK", "OFFER_CLOSED"],
      [3, "AUTHORISED", "WEBHOOK", "AUTHORISATION"],
    ]);
  });

  it("refuses on AUTHORISATION false, with the reason", async () => {
    const p = await startPayment();
    await send(
      signedItem({
        eventCode: "AUTHORISATION",
        pspReference: p.pspReference,
        merchantReference: p.reference,
        success: false,
        reason: "Insufficient balance",
      }),
    );
    await eventually(async () =>
      expect(await current(p.id)).toMatchObject({ status: "REFUSED", refusalReason: "Insufficient balance", version: 2 }),
    );
  });

  it("keeps a webhook that arrives before the payment's pspReference is stored, and applies it when it is", async () => {
    gw.simulator.control.setFaults({ mode: "timeout", count: 1, paths: ["/v72/payments"] });
    const input = {
      amount: { value: 5000, currency: "KRW" },
      reference: "early-webhook-order",
      returnUrl: "https://shop.example/r",
      idempotencyKey: "early-1",
    };
    try {
      const failed = await gw.request(StartKakaoPayPaymentDocument, { input });
      expect(failed.errors?.[0]?.extensions?.code).toBe("PROVIDER_UNAVAILABLE");
    } finally {
      gw.simulator.control.reset();
    }
    // Adyen did create it; its webhook arrives while we still lack the pspReference (and names another reference).
    const created = gw.simulator.control.payments().find((p) => p.reference === "early-webhook-order")!;
    const item = signedItem({
      eventCode: "AUTHORISATION",
      pspReference: created.pspReference,
      merchantReference: "unknown-ref",
      amount: { value: 5000, currency: "KRW" },
    });
    expect(await send(item)).toEqual({ status: 200, text: "[accepted]" });
    await new Promise((r) => setTimeout(r, 100));
    expect((await tableRows(gw, "notification_inbox")).find((r) => r.psp_reference === created.pspReference)?.applied_at).toBeNull();

    const retried = (await gw.data(StartKakaoPayPaymentDocument, { input })).startKakaoPayPayment;
    expect(retried).toMatchObject({ status: "AUTHORISED", pspReference: created.pspReference });
    expect(retried.events.map((e) => [e.version, e.status, e.source])).toEqual([
      [1, "ACTION_REQUIRED", "API"],
      [2, "AUTHORISED", "WEBHOOK"],
    ]);
  });

  it("matches a webhook by merchant reference while the pspReference is unknown", async () => {
    gw.simulator.control.setFaults({ mode: "timeout", count: 1, paths: ["/v72/payments"] });
    const input = {
      amount: { value: 7000, currency: "KRW" },
      reference: "by-reference-order",
      returnUrl: "https://shop.example/r",
      idempotencyKey: "by-ref-1",
    };
    try {
      await gw.request(StartKakaoPayPaymentDocument, { input });
    } finally {
      gw.simulator.control.reset();
    }
    const created = gw.simulator.control.payments().find((p) => p.reference === "by-reference-order")!;
    await send(
      signedItem({
        eventCode: "AUTHORISATION",
        pspReference: created.pspReference,
        merchantReference: "by-reference-order",
        amount: { value: 7000, currency: "KRW" },
      }),
    );
    await eventually(async () => {
      const row = (await tableRows(gw, "payments")).find((r) => r.reference === "by-reference-order");
      expect(row).toMatchObject({ status: "AUTHORISED", psp_reference: created.pspReference, version: 1 });
    });
    const retried = (await gw.data(StartKakaoPayPaymentDocument, { input })).startKakaoPayPayment;
    expect(retried).toMatchObject({ status: "AUTHORISED", version: 1 });
  });

  it("does not lose or double an update when the shopper's return and the webhook race", async () => {
    const ROUNDS = 100;
    const payments = await Promise.all(Array.from({ length: ROUNDS }, () => startPayment()));
    const watches = payments.map((p) => subscribe(p.id, 1));
    const results = await Promise.all(
      payments.map(async (p) => {
        const { redirectResult } = await chooseOutcome((p.action as { url: string }).url, "authorised");
        await Promise.all([
          gw.data(SubmitPaymentDetailsDocument, { input: { paymentId: p.id, details: { redirectResult } } }),
          send(signedItem({ eventCode: "AUTHORISATION", pspReference: p.pspReference, merchantReference: p.reference })),
        ]);
        return p.id;
      }),
    );
    for (const [index, id] of results.entries()) {
      await eventually(async () => {
        const payment = await current(id);
        expect(payment.status).toBe("AUTHORISED");
        expect(payment.events.map((e) => e.version)).toEqual([1, 2]);
        expect(watches[index]!.events.map((e) => e.version)).toEqual([2]);
      });
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(watches.every((w) => w.events.length === 1)).toBe(true);
    for (const w of watches) w.dispose();
  });
});

describe("paymentStatusChanged over graphql-ws", () => {
  it("replays the changes after afterVersion, then goes live, with no gap and no duplicate", async () => {
    const p = await startPayment();
    await send(signedItem({ eventCode: "OFFER_CLOSED", pspReference: p.pspReference, merchantReference: p.reference }));
    await eventually(async () => expect((await current(p.id)).version).toBe(2));
    const watch = subscribe(p.id, 0);
    await eventually(async () => expect(watch.events.map((e) => e.version)).toEqual([1, 2]));
    await send(signedItem({ eventCode: "AUTHORISATION", pspReference: p.pspReference, merchantReference: p.reference }));
    await eventually(async () =>
      expect(watch.events.map((e) => [e.version, e.previousStatus, e.status, e.source])).toEqual([
        [1, null, "ACTION_REQUIRED", "API"],
        [2, "ACTION_REQUIRED", "EXPIRED", "WEBHOOK"],
        [3, "EXPIRED", "AUTHORISED", "WEBHOOK"],
      ]),
    );
    watch.dispose();
  });

  it("gives every event, replayed or live, the payment as of that event's version", async () => {
    const p = await startPayment();
    await send(signedItem({ eventCode: "OFFER_CLOSED", pspReference: p.pspReference, merchantReference: p.reference }));
    await eventually(async () => expect((await current(p.id)).version).toBe(2));
    const watch = subscribe(p.id, 0);
    await eventually(async () => expect(watch.events).toHaveLength(2));
    await send(signedItem({ eventCode: "AUTHORISATION", pspReference: p.pspReference, merchantReference: p.reference }));
    await eventually(async () => expect(watch.events).toHaveLength(3));
    expect(watch.events.map((e) => [e.version, e.status, e.payment.version, e.payment.status])).toEqual([
      [1, "ACTION_REQUIRED", 1, "ACTION_REQUIRED"],
      [2, "EXPIRED", 2, "EXPIRED"],
      [3, "AUTHORISED", 3, "AUTHORISED"],
    ]);
    watch.dispose();
  });

  it("refuses an afterVersion above the payment's version with BAD_USER_INPUT", async () => {
    const p = await startPayment();
    const watch = subscribe(p.id, 5);
    await eventually(async () => expect(watch.errors).toHaveLength(1));
    expect(watch.errors[0]).toMatchObject({ extensions: { code: "BAD_USER_INPUT", field: "afterVersion" } });
    expect(watch.events).toHaveLength(0);
  });

  it("refuses another key, and never shows it the payment", async () => {
    const p = await startPayment(ALPHA_KEY);
    const watch = subscribe(p.id, 0, BETA_KEY);
    await eventually(async () => expect(watch.errors).toHaveLength(1));
    expect(JSON.stringify(watch.errors)).toContain("NOT_FOUND");
    expect(JSON.stringify(watch.errors)).not.toContain(p.reference);
    expect(watch.events).toHaveLength(0);
  });

  it("closes a socket without a valid key", async () => {
    const watch = subscribe("pay_any", 0, "not-a-key-0123456789");
    await eventually(async () => expect(watch.errors).toHaveLength(1));
    expect(watch.events).toHaveLength(0);
  });
});

describe("a subscription opened before the shopper pays", () => {
  let live: TestGateway;
  beforeAll(async () => {
    live = await TestGateway.start({ SIMULATOR_WEBHOOK_DELAY_MS: "30" });
  });
  afterAll(() => live.close());

  it("receives AUTHORISED from the simulator's webhook, without any details submitted", async () => {
    const payment = (
      await live.data(StartKakaoPayPaymentDocument, {
        input: { amount: { value: 9900, currency: "KRW" }, reference: "live-1", returnUrl: "myapp://done" },
      })
    ).startKakaoPayPayment;
    const events: string[] = [];
    const client = live.ws(ALPHA_KEY);
    client.subscribe<PaymentStatusChangedSubscription>(
      { query: print(PaymentStatusChangedDocument), variables: { paymentId: payment.id, afterVersion: 1 } },
      { next: (r) => r.data && events.push(r.data.paymentStatusChanged.status), error: () => {}, complete: () => {} },
    );
    await chooseOutcome((payment.action as { url: string }).url, "authorised");
    await eventually(async () => expect(events).toEqual(["AUTHORISED"]));
  });
});

describe("store, then acknowledge, then apply", () => {
  it("applies at the next start an item that was stored but never applied", async () => {
    const first = await TestGateway.start();
    const p = (
      await first.data(StartKakaoPayPaymentDocument, {
        input: { amount: { value: 4200, currency: "KRW" }, reference: "crash-1", returnUrl: "https://shop.example/r" },
      })
    ).startKakaoPayPayment;
    await first.close({ keepData: true });

    // What a crash right after the 200 leaves behind: the inbox row, not applied.
    const { openStores } = await import("../../src/store/index.js");
    const stores = await openStores(first.databaseUrl);
    const { parseNotificationRequest } = await import("../../src/adyen/webhooks.js");
    const [parsed] = parseNotificationRequest(
      notificationBody([
        signedItem({
          eventCode: "AUTHORISATION",
          pspReference: p.pspReference!,
          merchantReference: "crash-1",
          amount: { value: 4200, currency: "KRW" },
        }),
      ]),
    );
    await stores.inbox.save([parsed!.notification]);
    await stores.close();

    const second = await TestGateway.start({}, first.dir);
    try {
      const after = (await second.data(PaymentDocument, { id: p.id })).payment!;
      expect(after).toMatchObject({ status: "AUTHORISED", version: 2 });
    } finally {
      await second.close();
    }
  });
});

describe("the simulator's OFFER_CLOSED", () => {
  let short: TestGateway;
  beforeAll(async () => {
    short = await TestGateway.start({ SIMULATOR_OFFER_TTL_SECONDS: "1", SIMULATOR_WEBHOOK_DELAY_MS: "20" });
  });
  afterAll(() => short.close());

  it("expires a payment whose shopper never finished, and never touches one that was paid", async () => {
    const start = async (reference: string) =>
      (
        await short.data(StartKakaoPayPaymentDocument, {
          input: { amount: { value: 8800, currency: "KRW" }, reference, returnUrl: "https://shop.example/r" },
        })
      ).startKakaoPayPayment;
    const abandoned = await start("abandoned-1");
    const paid = await start("paid-1");
    await chooseOutcome((paid.action as { url: string }).url, "authorised");
    await eventually(async () => {
      const payment = (await short.data(PaymentDocument, { id: abandoned.id })).payment!;
      expect(payment).toMatchObject({ status: "EXPIRED", nextStep: "SHOW_TIMED_OUT" });
      expect(payment.events.at(-1)).toMatchObject({ source: "WEBHOOK", eventCode: "OFFER_CLOSED" });
    }, 5_000);
    await short.simulator.control.idle();
    expect((await short.data(PaymentDocument, { id: paid.id })).payment).toMatchObject({ status: "AUTHORISED", version: 2 });
  });
});
