import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  ChargeStoredPaymentMethodDocument,
  DisableStoredPaymentMethodDocument,
  StartKakaoPayPaymentDocument,
  StoredPaymentMethodsDocument,
  SubmitPaymentDetailsDocument,
} from "../generated/graphql.js";
import { ALPHA_KEY, BETA_KEY, MERCHANT_ACCOUNT, TestGateway, tableRows } from "../support/gateway.js";
import { notificationBody, postWebhook, signedItem } from "../support/webhooks.js";

let gw: TestGateway;
let paymentId: string;
let betaPaymentId: string;
let clientSecret: string;
let betaClientSecret: string;
let appliedWebhook: string;
let pspReference: string;

/** Starts a gateway (with or without the HTTP fast path) and the payments and webhook the corpus refers to. */
async function startGateway(httpFastPath: boolean): Promise<void> {
  gw = await TestGateway.start({}, undefined, { httpFastPath });
  const start = (key: string, reference: string) =>
    gw.data(
      StartKakaoPayPaymentDocument,
      { input: { amount: { value: 1000, currency: "KRW" }, reference, returnUrl: "https://shop.example/r" } },
      key,
    );
  const payment = (await start(ALPHA_KEY, "hostile-base")).startKakaoPayPayment;
  paymentId = payment.id;
  clientSecret = payment.clientSecret!;
  pspReference = payment.pspReference!;
  const betaPayment = (await start(BETA_KEY, "beta-base")).startKakaoPayPayment;
  betaPaymentId = betaPayment.id;
  betaClientSecret = betaPayment.clientSecret!;
  appliedWebhook = notificationBody([
    signedItem({ eventCode: "OFFER_CLOSED", pspReference, merchantReference: "hostile-base", amount: { value: 1000, currency: "KRW" } }),
  ]);
  expect((await postWebhook(gw.url, appliedWebhook)).status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 100));
}

/** Everything the gateway has stored, to prove a hostile input changed nothing. */
async function snapshot(): Promise<string> {
  const tables = ["payments", "payment_events", "idempotency_keys", "notification_inbox", "stored_payment_methods"] as const;
  return JSON.stringify(await Promise.all(tables.map((t) => tableRows(gw, t))));
}

type Outcome = { status: number; code?: string; message?: string; body: string };

async function graphql(query: string, variables: unknown, key: string | null = ALPHA_KEY): Promise<Outcome> {
  const response = await fetch(`${gw.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.text();
  const error = JSON.parse(body).errors?.[0];
  return { status: response.status, code: error?.extensions?.code, message: error?.message, body };
}

const START = print(StartKakaoPayPaymentDocument);
const DETAILS = print(SubmitPaymentDetailsDocument);
const CHARGE = print(ChargeStoredPaymentMethodDocument);
const DISABLE = print(DisableStoredPaymentMethodDocument);
const METHODS = print(StoredPaymentMethodsDocument);

const start = (overrides: Record<string, unknown>) =>
  graphql(START, {
    input: { amount: { value: 1000, currency: "KRW" }, reference: "hostile", returnUrl: "https://shop.example/r", ...overrides },
  });
/** A body written as JSON text, so that a lone surrogate travels as the `\ud800` escape. */
async function rawGraphql(query: string, variablesJson: string): Promise<Outcome> {
  const response = await fetch(`${gw.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ALPHA_KEY}` },
    body: `{"query": ${JSON.stringify(query)}, "variables": ${variablesJson}}`,
  });
  const body = await response.text();
  const error = JSON.parse(body).errors?.[0];
  return { status: response.status, code: error?.extensions?.code, message: error?.message, body };
}
/** startKakaoPayPayment with one input field given as raw JSON text. */
const rawStart = (name: string, json: string) => {
  const fields: Record<string, string> = {
    amount: '{"value": 1000, "currency": "KRW"}',
    reference: '"hostile"',
    returnUrl: '"https://shop.example/r"',
    [name]: json,
  };
  const input = Object.entries(fields).map(([key, value]) => `"${key}": ${value}`);
  return rawGraphql(START, `{"input": {${input.join(", ")}}}`);
};
const rawDetails = (detailsJson: string) => rawGraphql(DETAILS, `{"input": {"paymentId": "${paymentId}", "details": ${detailsJson}}}`);
const details = (value: unknown, id?: string) => graphql(DETAILS, { input: { paymentId: id ?? paymentId, details: value } });
const charge = (overrides: Record<string, unknown>) =>
  graphql(CHARGE, {
    input: {
      storedPaymentMethodId: "TOKEN00000000001",
      shopperReference: "shopper-1",
      amount: { value: 1000, currency: "KRW" },
      reference: "hostile-charge",
      recurringProcessingModel: "SUBSCRIPTION",
      ...overrides,
    },
  });

async function webhook(body: string, credentials?: { user: string; password: string }): Promise<Outcome> {
  const result = await postWebhook(gw.url, body, credentials);
  return { status: result.status, body: result.text };
}

function socketWith(connectionParams: unknown): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${gw.url.replace("http", "ws")}/graphql`, "graphql-transport-ws");
    socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: connectionParams })));
    socket.on("message", (data) => {
      if (JSON.parse(data.toString()).type === "connection_ack") socket.close(1000);
    });
    socket.on("close", (code) => resolve({ status: code, body: "" }));
  });
}

const long = (n: number, c = "x") => c.repeat(n);
const bad = "BAD_USER_INPUT";

// [name, send, expected GraphQL code or HTTP/WebSocket status]
const CORPUS: Array<[string, () => Promise<Outcome>, string | number]> = [
  // startKakaoPayPayment: amounts and currencies
  ["zero amount", () => start({ amount: { value: 0, currency: "KRW" } }), bad],
  ["negative amount", () => start({ amount: { value: -1000, currency: "KRW" } }), bad],
  ["amount over Int", () => start({ amount: { value: 2 ** 31, currency: "KRW" } }), bad],
  ["fractional amount", () => start({ amount: { value: 10.5, currency: "KRW" } }), bad],
  ["amount as a string", () => start({ amount: { value: "1000", currency: "KRW" } }), bad],
  ["amount as null", () => start({ amount: { value: null, currency: "KRW" } }), bad],
  ["amount as an object", () => start({ amount: { value: { $gt: 0 }, currency: "KRW" } }), bad],
  ["USD", () => start({ amount: { value: 1000, currency: "USD" } }), bad],
  ["lower-case krw", () => start({ amount: { value: 1000, currency: "krw" } }), bad],
  ["full-width KRW", () => start({ amount: { value: 1000, currency: "ＫＲＷ" } }), bad],
  ["KRW with a NUL", () => start({ amount: { value: 1000, currency: "KRW\u0000" } }), bad],
  // references
  ["empty reference", () => start({ reference: "" }), bad],
  ["81-character reference", () => start({ reference: long(81) }), bad],
  ["100 KB reference", () => start({ reference: long(100_000) }), 413],
  ["bidi override in reference", () => start({ reference: "order\u202Egnp.exe" }), bad],
  ["zero-width space in reference", () => start({ reference: "order\u200B1" }), bad],
  ["NUL in reference", () => start({ reference: "order\u00001" }), bad],
  ["padded reference", () => start({ reference: " order-1 " }), bad],
  ["reference as a number", () => start({ reference: 12345 }), bad],
  // invisible and bidi characters by Unicode property (Cf, Cs, Co, default-ignorable), not only a list
  ["bidi isolate U+2066 in reference", () => start({ reference: "order\u20661" }), bad],
  ["pop directional isolate U+2069 in reference", () => start({ reference: "order\u20691" }), bad],
  ["Arabic letter mark U+061C in reference", () => start({ reference: "order\u061C1" }), bad],
  ["soft hyphen U+00AD in reference", () => start({ reference: "order\u00AD1" }), bad],
  ["Hangul filler U+3164 in reference", () => start({ reference: "order\u31641" }), bad],
  ["Hangul choseong filler U+115F in reference", () => start({ reference: "order\u115F1" }), bad],
  ["Mongolian vowel separator U+180E in reference", () => start({ reference: "order\u180E1" }), bad],
  ["variation selector U+FE0F in reference", () => start({ reference: "order\uFE0F1" }), bad],
  ["variation selector U+E0100 in shopperReference", () => start({ shopperReference: "shopper\u{E0100}1" }), bad],
  ["tag character U+E0041 in reference", () => start({ reference: "order\u{E0041}1" }), bad],
  ["private-use U+E000 in reference", () => start({ reference: "order\uE0001" }), bad],
  ["lone surrogate in reference", () => rawStart("reference", '"order\\ud8001"'), bad],
  ["lone surrogate in shopperReference", () => rawStart("shopperReference", '"shopper\\udc001"'), bad],
  ["lone surrogate in returnUrl", () => rawStart("returnUrl", '"https://shop.example/r\\ud800"'), bad],
  ["bidi isolate in a details value", () => details({ redirectResult: "abc\u2066def" }), bad],
  ["lone surrogate in a details value", () => rawDetails('{"redirectResult": "abc\\ud800"}'), bad],
  ["bidi override in a details key", () => details({ "redirectResult\u202E": "abc" }), bad],
  // returnUrls: schemes, open redirects, tricks
  ["javascript: returnUrl", () => start({ returnUrl: "javascript:alert(document.cookie)" }), bad],
  ["JaVaScRiPt: returnUrl", () => start({ returnUrl: "JaVaScRiPt:alert(1)" }), bad],
  ["data: returnUrl", () => start({ returnUrl: "data:text/html;base64,PHNjcmlwdD4=" }), bad],
  ["vbscript: returnUrl", () => start({ returnUrl: "vbscript:msgbox(1)" }), bad],
  ["file: returnUrl", () => start({ returnUrl: "file:///etc/passwd" }), bad],
  ["protocol-relative returnUrl", () => start({ returnUrl: "//evil.example/r" }), bad],
  ["userinfo trick", () => start({ returnUrl: "https://shop.example@evil.example/" }), bad],
  ["credentials in returnUrl", () => start({ returnUrl: "https://user:pass@shop.example/r" }), bad],
  ["look-alike subdomain", () => start({ returnUrl: "https://shop.example.evil.example/r" }), bad],
  ["Cyrillic look-alike host", () => start({ returnUrl: "https://shоp.example/r" }), bad],
  ["backslash trick", () => start({ returnUrl: "https://shop.example\\@evil.example/" }), bad],
  ["http instead of https", () => start({ returnUrl: "http://shop.example/r" }), bad],
  ["returnUrl with a newline", () => start({ returnUrl: "https://shop.example/r\nLocation: https://evil.example" }), bad],
  ["1025-character returnUrl", () => start({ returnUrl: `https://shop.example/${long(1005)}` }), bad],
  ["bare app scheme", () => start({ returnUrl: "myapp:" }), bad],
  ["unlisted app scheme", () => start({ returnUrl: "evilapp://steal" }), bad],
  ["relative returnUrl", () => start({ returnUrl: "/checkout/return" }), bad],
  // other fields
  ["country JP", () => start({ countryCode: "JP" }), bad],
  ["lower-case country", () => start({ countryCode: "kr" }), bad],
  ["script as locale", () => start({ shopperLocale: "<script>alert(1)</script>" }), bad],
  ["unknown channel", () => start({ channel: "DESKTOP" }), bad],
  ["2-character shopperReference", () => start({ shopperReference: "ab", storePaymentMethod: true }), bad],
  ["192-character shopperReference", () => start({ shopperReference: long(192), storePaymentMethod: true }), bad],
  ["store without shopper", () => start({ storePaymentMethod: true }), bad],
  ["storePaymentMethod as a string", () => start({ storePaymentMethod: "true" }), bad],
  ["200-character idempotencyKey", () => start({ idempotencyKey: long(200) }), bad],
  ["idempotencyKey with spaces", () => start({ idempotencyKey: "key with spaces" }), bad],
  ["unknown input field", () => start({ merchantAccount: "SomeoneElse" }), bad],
  // submitPaymentDetails
  ["details with __proto__", () => details(JSON.parse('{"__proto__": {"isAdmin": true}}')), bad],
  ["details with constructor.prototype", () => details({ constructor: { prototype: { isAdmin: true } } }), bad],
  ["details with an operator object", () => details({ redirectResult: { $ne: "" } }), bad],
  ["deeply nested details", () => details(JSON.parse(`${'{"a":'.repeat(200)}1${"}".repeat(200)}`)), bad],
  ["details as an array", () => details(["redirectResult", "x"]), bad],
  ["details as a string", () => details("redirectResult=x"), bad],
  ["empty redirectResult", () => details({ redirectResult: "" }), bad],
  ["oversized redirectResult", () => details({ redirectResult: long(20_000) }), bad],
  ["SQL in paymentId", () => details({ redirectResult: "x" }, "' OR 1=1 --"), "NOT_FOUND"],
  ["another key's paymentId", () => details({ redirectResult: "x" }, betaPaymentId), "NOT_FOUND"],
  ["huge paymentId", () => details({ redirectResult: "x" }, long(10_000)), "NOT_FOUND"],
  // chargeStoredPaymentMethod, disableStoredPaymentMethod, storedPaymentMethods
  ["unknown token", () => charge({}), "NOT_FOUND"],
  ["SQL in token", () => charge({ storedPaymentMethodId: "'; DROP TABLE payments; --" }), "NOT_FOUND"],
  ["zero charge", () => charge({ amount: { value: 0, currency: "KRW" } }), bad],
  ["JPY charge", () => charge({ amount: { value: 1000, currency: "JPY" } }), bad],
  ["unknown recurring model", () => charge({ recurringProcessingModel: "MONTHLY" }), bad],
  ["empty shopper on charge", () => charge({ shopperReference: "" }), bad],
  ["300-character shopper on charge", () => charge({ shopperReference: long(300) }), bad],
  [
    "disable unknown token",
    () => graphql(DISABLE, { input: { storedPaymentMethodId: "NOPE", shopperReference: "shopper-1" } }),
    "NOT_FOUND",
  ],
  ["disable with SQL", () => graphql(DISABLE, { input: { storedPaymentMethodId: "1 OR 1=1", shopperReference: "x' --" } }), "NOT_FOUND"],
  ["list with empty shopper", () => graphql(METHODS, { shopperReference: "" }), bad],
  ["list with control characters", () => graphql(METHODS, { shopperReference: "abc\u0007def" }), bad],
  // the HTTP layer
  ["no API key", () => graphql(METHODS, { shopperReference: "shopper-1" }, null), "UNAUTHENTICATED"],
  ["unknown API key", () => graphql(METHODS, { shopperReference: "shopper-1" }, "guess-guess-guess-guess"), "UNAUTHENTICATED"],
  // client secrets: one payment, nothing else
  ["a client secret lists stored methods", () => graphql(METHODS, { shopperReference: "shopper-1" }, clientSecret), "UNAUTHENTICATED"],
  [
    "a client secret starts a payment",
    () =>
      graphql(
        START,
        { input: { amount: { value: 1, currency: "KRW" }, reference: "cs", returnUrl: "https://shop.example/r" } },
        clientSecret,
      ),
    "UNAUTHENTICATED",
  ],
  [
    "another key's client secret submits details",
    () => graphql(DETAILS, { input: { paymentId, details: { redirectResult: "x" } } }, betaClientSecret),
    "NOT_FOUND",
  ],
  [
    "a forged client secret",
    () => graphql(DETAILS, { input: { paymentId, details: { redirectResult: "x" } } }, `pcs_${paymentId}.9999999999.${long(43, "A")}`),
    "UNAUTHENTICATED",
  ],
  [
    "malformed JSON body",
    async () => {
      const response = await fetch(`${gw.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"query":',
      });
      return { status: response.status, body: await response.text() };
    },
    400,
  ],
  [
    "text/plain POST (CSRF)",
    async () => {
      const response = await fetch(`${gw.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: JSON.stringify({ query: "mutation { __typename }" }),
      });
      return { status: response.status, body: await response.text() };
    },
    400,
  ],
  // the webhook route
  [
    "webhook without credentials",
    async () => {
      const response = await fetch(`${gw.url}/webhooks/adyen`, { method: "POST", body: appliedWebhook });
      return { status: response.status, body: await response.text() };
    },
    401,
  ],
  ["webhook with a wrong password", () => webhook(appliedWebhook, { user: "adyen-test", password: "guess" }), 401],
  [
    "forged HMAC",
    () =>
      webhook(
        notificationBody([signedItem({ eventCode: "AUTHORISATION", pspReference, merchantReference: "hostile-base" }, "11".repeat(32))]),
      ),
    401,
  ],
  ["replay with a changed amount", () => webhook(appliedWebhook.replace('"value":1000', '"value":1')), 401],
  ["replay with a changed event", () => webhook(appliedWebhook.replace("OFFER_CLOSED", "AUTHORISATION")), 401],
  ["replayed webhook", () => webhook(appliedWebhook), 200],
  [
    "oversized batch",
    () =>
      webhook(
        notificationBody(
          Array.from({ length: 101 }, (_, i) =>
            signedItem({ eventCode: "REPORT_AVAILABLE", pspReference: `R${i}`, merchantReference: "r" }),
          ),
        ),
      ),
    400,
  ],
  ["webhook body not JSON", () => webhook("<xml/>"), 400],
  ["webhook body an array", () => webhook("[]"), 400],
  ["notificationItems an object", () => webhook(JSON.stringify({ notificationItems: { NotificationRequestItem: {} } })), 400],
  [
    "success not a boolean string",
    () =>
      webhook(notificationBody([{ ...signedItem({ eventCode: "AUTHORISATION", pspReference, merchantReference: "x" }), success: "yes" }])),
    400,
  ],
  ["webhook over the size limit", () => webhook(long(300 * 1024)), 413],
  [
    "unsigned item for another merchant",
    () =>
      webhook(
        notificationBody([
          {
            eventCode: "AUTHORISATION",
            pspReference,
            merchantReference: "x",
            merchantAccountCode: MERCHANT_ACCOUNT,
            success: "true",
            amount: { value: 1, currency: "KRW" },
          },
        ]),
      ),
    401,
  ],
  // connectionParams
  ["no connectionParams", () => socketWith(undefined), 4403],
  ["authorization as a number", () => socketWith({ authorization: 12345 }), 4403],
  ["authorization as an object", () => socketWith({ authorization: { toString: "Bearer x" } }), 4403],
  ["Basic instead of Bearer", () => socketWith({ authorization: `Basic ${ALPHA_KEY}` }), 4403],
  ["a 100 KB authorization", () => socketWith({ authorization: `Bearer ${long(100_000)}` }), 1009],
  ["__proto__ in connectionParams", () => socketWith(JSON.parse(`{"__proto__": {"authorization": "Bearer ${ALPHA_KEY}"}}`)), 4403],
  [
    "forged client secret in connectionParams",
    () => socketWith({ authorization: `Bearer pcs_${paymentId}.9999999999.${long(43, "A")}` }),
    4403,
  ],
  ["key with a trailing NUL", () => socketWith({ authorization: `Bearer ${ALPHA_KEY}\u0000` }), 4403],
];

/** Each case's status and body per path, with this gateway's ids and secrets replaced by their names. */
const answers = new Map<boolean, Map<string, { status: number; body: string }>>();

function normalised(outcome: Outcome): { status: number; body: string } {
  const named = { paymentId, betaPaymentId, clientSecret, betaClientSecret, pspReference };
  let body = outcome.body;
  for (const [name, value] of Object.entries(named)) body = body.replaceAll(value, `<${name}>`);
  return { status: outcome.status, body };
}

describe.each([
  ["with the HTTP fast path", true],
  ["through Apollo only", false],
])("hostile inputs %s: a clear error, a healthy server and an unchanged database", (_path, httpFastPath) => {
  beforeAll(() => startGateway(httpFastPath));
  afterAll(() => gw.close());

  it("has at least 60 cases", () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(60);
  });

  it.each(CORPUS)("%s", async (name, send, expected) => {
    const before = await snapshot();
    const outcome = await send();
    if (!answers.has(httpFastPath)) answers.set(httpFastPath, new Map());
    answers.get(httpFastPath)?.set(name, normalised(outcome));
    if (typeof expected === "string") {
      expect(outcome.code).toBe(expected);
      expect(outcome.message?.length).toBeGreaterThan(0);
    } else {
      expect(outcome.status).toBe(expected);
    }
    expect(outcome.body).not.toMatch(/sqlite|SELECT |INSERT |at \S+\.(js|ts):\d+|stacktrace/i);
    expect(outcome.body).not.toContain(ALPHA_KEY);
    expect(await snapshot()).toBe(before);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });
});

describe("the HTTP fast path and Apollo", () => {
  it("give every hostile input the same status and the same body", () => {
    const fast = answers.get(true);
    const apollo = answers.get(false);
    expect(fast?.size).toBe(CORPUS.length);
    expect(Object.fromEntries(fast ?? [])).toEqual(Object.fromEntries(apollo ?? []));
  });
});
