import { getIntrospectionQuery, print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaymentDocument, StartKakaoPayPaymentDocument } from "../generated/graphql.js";
import { ALPHA_KEY, BETA_KEY, TestGateway } from "../support/gateway.js";

/**
 * The HTTP fast path (src/http/graphql-route.ts) against Apollo alone: two gateways, one with it and one without,
 * get the same requests; each answer must be the same status, headers and body (the payments each gateway made for
 * the test are named, not compared by id or time, and the seconds of a Retry-After depend on the clock).
 */

type Fixture = { paymentId: string; betaPaymentId: string; clientSecret: string; betaClientSecret: string; pspReference: string };
type Request = { method?: string; headers?: Record<string, string>; body?: unknown; search?: string };
type Answer = { status: number; headers: Record<string, string>; body: string };

const PAYMENT = print(PaymentDocument);
const START = print(StartKakaoPayPaymentDocument);
const deep = (levels: number) => `{ __type(name: "Payment") { ${"fields { type { ".repeat(levels)}name${" } }".repeat(levels)} } }`;
const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: payment(id: "x") { id }`).join(" ")} }`;
const directives = (n: number) => `{ __typename ${"@include(if: true) ".repeat(n)} }`;
const costly = (n: number) =>
  `{ ${Array.from({ length: n }, () => `payment(id: "x") { events { version status source } amount { value currency } }`).join(" ")} }`;
const startInput = (overrides: Record<string, unknown> = {}) => ({
  input: { amount: { value: 1000, currency: "KRW" }, reference: "fast-path", returnUrl: "https://shop.example/r", ...overrides },
});

/** [name, request] built from a gateway's own payments. */
const CASES: Array<[string, (f: Fixture) => Request]> = [
  ["payment(id)", (f) => ({ body: { query: PAYMENT, variables: { id: f.paymentId } } })],
  ["payment(id) of another key's payment", (f) => ({ body: { query: PAYMENT, variables: { id: f.betaPaymentId } } })],
  ["payment(id) that does not exist", () => ({ body: { query: PAYMENT, variables: { id: "pay_doesnotexist" } } })],
  ["payment(id) without a key", (f) => ({ headers: { authorization: "" }, body: { query: PAYMENT, variables: { id: f.paymentId } } })],
  [
    "payment(id) with an unknown key",
    (f) => ({ headers: { authorization: "Bearer nope" }, body: { query: PAYMENT, variables: { id: f.paymentId } } }),
  ],
  [
    "payment(id) with its client secret",
    (f) => ({ headers: { authorization: `Bearer ${f.clientSecret}` }, body: { query: PAYMENT, variables: { id: f.paymentId } } }),
  ],
  [
    "payment(id) with another payment's client secret",
    (f) => ({ headers: { authorization: `Bearer ${f.betaClientSecret}` }, body: { query: PAYMENT, variables: { id: f.paymentId } } }),
  ],
  ["payment(id) without its variable", () => ({ body: { query: PAYMENT } })],
  ["payment(id) with an object for the id", () => ({ body: { query: PAYMENT, variables: { id: { nested: true } } } })],
  ["variables null", () => ({ body: { query: "{ __typename }", variables: null, operationName: null } })],
  ["variables as a string", () => ({ body: { query: "{ __typename }", variables: "{}" } })],
  ["variables as an array", () => ({ body: { query: "{ __typename }", variables: [] } })],
  ["operationName as a number", () => ({ body: { query: "{ __typename }", operationName: 1 } })],
  ["query as a number", () => ({ body: { query: 1 } })],
  ["an empty query", () => ({ body: { query: "" } })],
  ["no query", () => ({ body: { variables: {} } })],
  ["an empty object", () => ({ body: {} })],
  ["a JSON string", () => ({ body: '"just a string"' })],
  ["a batch", () => ({ body: [{ query: "{ __typename }" }, { query: "{ __typename }" }] })],
  ["extensions {}", () => ({ body: { query: "{ __typename }", extensions: {} } })],
  ["an APQ hash alone", () => ({ body: { extensions: { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } } } })],
  ["unknown fields beside the query", () => ({ body: { query: "{ __typename }", pad: "x", id: 1 } })],
  [
    "two operations, one named",
    () => ({ body: { query: 'query A { __typename } query B { payment(id: "x") { id } }', operationName: "B" } }),
  ],
  ["two operations, none named", () => ({ body: { query: "query A { __typename } query B { __typename }" } })],
  ["an unknown operation name", () => ({ body: { query: "query A { __typename }", operationName: "C" } })],
  ["an empty operation name", () => ({ body: { query: "{ __typename }", operationName: "" } })],
  ["a subscription", () => ({ body: { query: `subscription { paymentStatusChanged(paymentId: "x") { version } }` } })],
  ["a syntax error", () => ({ body: { query: "{ payment(id: " } })],
  ["a typo", () => ({ body: { query: '{ payment(id: "x") { statu } }' } })],
  ["introspection", () => ({ body: { query: getIntrospectionQuery() } })],
  ["too deep", () => ({ body: { query: deep(5) } })],
  ["too many aliases", () => ({ body: { query: aliases(11) } })],
  ["as many aliases as allowed", () => ({ body: { query: aliases(10) } })],
  ["too many directives", () => ({ body: { query: directives(11) } })],
  ["too costly", () => ({ body: { query: costly(30) } })],
  ["too many tokens", () => ({ body: { query: `{ ${"__typename ".repeat(1001)} }` } })],
  [
    "an Adyen-calling field twice",
    () => ({ body: { query: `{ a: paymentMethods(input: {}) { type } b: paymentMethods(input: {}) { type } }` } }),
  ],
  ["a mutation the domain refuses", () => ({ body: { query: START, variables: startInput({ returnUrl: "https://evil.example/r" }) } })],
  ["a mutation with an input that does not coerce", () => ({ body: { query: START, variables: startInput({ amount: { value: "1" } }) } })],
  ["a mutation with a client secret", () => ({ body: { query: START, variables: startInput() } })],
  ["Accept */*", (f) => ({ headers: { accept: "*/*" }, body: { query: PAYMENT, variables: { id: f.paymentId } } })],
  ["Accept application/json", () => ({ headers: { accept: "application/json" }, body: { query: "{ __typename }" } })],
  ["Accept graphql-response+json", () => ({ headers: { accept: "application/graphql-response+json" }, body: { query: "{ __typename }" } })],
  [
    "Accept graphql-response+json then json",
    () => ({ headers: { accept: "application/graphql-response+json, application/json" }, body: { query: "{ __typename }" } }),
  ],
  [
    "Accept as Apollo Client sends it",
    () => ({ headers: { accept: "application/graphql-response+json,application/json;q=0.9" }, body: { query: "{ __typename }" } }),
  ],
  ["Accept text/html", () => ({ headers: { accept: "text/html" }, body: { query: "{ __typename }" } })],
  ["Accept application/xml", () => ({ headers: { accept: "application/xml" }, body: { query: "{ __typename }" } })],
  [
    "Accept json with a callback spec",
    () => ({ headers: { accept: "application/json; callbackSpec=1.0" }, body: { query: "{ __typename }" } }),
  ],
  [
    "content type with a charset",
    () => ({ headers: { "content-type": "application/json; charset=utf-8" }, body: { query: "{ __typename }" } }),
  ],
  ["content type application/jsonx", () => ({ headers: { "content-type": "application/jsonx" }, body: { query: "{ __typename }" } })],
  ["content type text/plain (CSRF)", () => ({ headers: { "content-type": "text/plain" }, body: { query: "{ __typename }" } })],
  ["no content type", () => ({ headers: { "content-type": "" }, body: { query: "{ __typename }" } })],
  ["invalid JSON", () => ({ body: "{ not json" })],
  ["a body over the limit", () => ({ body: { query: "{ __typename }", pad: "x".repeat(70 * 1024) } })],
  [
    "a GET",
    () => ({ method: "GET", headers: { "apollo-require-preflight": "1" }, search: `?query=${encodeURIComponent("{ __typename }")}` }),
  ],
  [
    "a GET without preflight header (CSRF)",
    () => ({ method: "GET", headers: { "content-type": "" }, search: `?query=${encodeURIComponent("{ __typename }")}` }),
  ],
  ["a PUT", () => ({ method: "PUT", body: { query: "{ __typename }" } })],
];

/** The Adyen-calling operations sent in a row until the budget (ADYEN_RATE_LIMIT_PER_MINUTE=5) is spent. */
const RATE_LIMITED_BURST = 7;

async function send(url: string, fixture: Fixture, request: Request, withSecret = false): Promise<Answer> {
  const method = request.method ?? "POST";
  const body = method === "GET" ? undefined : typeof request.body === "string" ? request.body : JSON.stringify(request.body);
  const response = await fetch(`${url}/graphql${request.search ?? ""}`, {
    method,
    // A header given as "" is left out.
    headers: Object.fromEntries(
      Object.entries({
        "content-type": "application/json",
        authorization: `Bearer ${withSecret ? fixture.clientSecret : ALPHA_KEY}`,
        "x-request-id": "fast-path-test",
        ...request.headers,
      }).filter(([, value]) => value !== ""),
    ),
    body,
  });
  let text = await response.text();
  for (const [name, value] of Object.entries(fixture)) text = text.replaceAll(value, `<${name}>`);
  // What differs between two payments made the same way: times, the simulator's address and tokens, a fresh secret.
  text = text
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "<time>")
    .replace(/http:\/\/127\.0\.0\.1:\d+\/hpp\/kakaopay\/[\w-]+/g, "<redirect>")
    .replace(/pcs_<paymentId>\.\d+\.[\w-]+/g, "<fresh client secret>");
  const headers = Object.fromEntries([...response.headers].filter(([name]) => name !== "date"));
  return { status: response.status, headers, body: text };
}

/** Retry-After's seconds, in the header and the body, depend on when each gateway was asked. */
function withoutSeconds(answer: Answer): Answer {
  const headers = { ...answer.headers, ...(answer.headers["retry-after"] ? { "retry-after": "<s>" } : {}) };
  return {
    ...answer,
    headers,
    body: answer.body.replace(/"retryAfterSeconds":\d+/g, '"retryAfterSeconds":"<s>"').replace(/retry in \d+ s/g, "retry in <s> s"),
  };
}

async function fixtureOf(gw: TestGateway): Promise<Fixture> {
  const start = (key: string, reference: string) => gw.data(StartKakaoPayPaymentDocument, startInput({ reference }), key);
  const alpha = (await start(ALPHA_KEY, "fast-path-alpha")).startKakaoPayPayment;
  const beta = (await start(BETA_KEY, "fast-path-beta")).startKakaoPayPayment;
  return {
    paymentId: alpha.id,
    betaPaymentId: beta.id,
    clientSecret: alpha.clientSecret!,
    betaClientSecret: beta.clientSecret!,
    pspReference: alpha.pspReference!,
  };
}

/** Every answer of one gateway, in order: the cases, then a burst of Adyen-calling operations. */
async function answersOf(gw: TestGateway): Promise<Array<[string, Answer]>> {
  const fixture = await fixtureOf(gw);
  const answers: Array<[string, Answer]> = [];
  for (const [name, request] of CASES) {
    answers.push([name, await send(gw.url, fixture, request(fixture), name.endsWith("with a client secret"))]);
  }
  for (let i = 0; i < RATE_LIMITED_BURST; i++) {
    const request = { body: { query: START, variables: startInput({ reference: `burst-${i}`, returnUrl: "https://evil.example/r" }) } };
    answers.push([`Adyen-calling operation ${i + 1} in a row`, withoutSeconds(await send(gw.url, fixture, request))]);
  }
  return answers;
}

/** The GraphQL operation metrics (counts, not durations), as Prometheus text. */
async function operationCounts(gw: TestGateway): Promise<string[]> {
  const text = await gw.gateway.metrics.registry.metrics();
  return text.split("\n").filter((line) => /^gateway_graphql_operation(s_total|_duration_seconds_count)\{/.test(line));
}

describe.each([
  ["development", {}],
  ["production", { NODE_ENV: "production" }],
])("the HTTP fast path and Apollo alone (%s)", (_mode, env) => {
  let fast: TestGateway;
  let apollo: TestGateway;
  beforeAll(async () => {
    const settings = { ...env, ADYEN_RATE_LIMIT_PER_MINUTE: "5" };
    fast = await TestGateway.start(settings);
    apollo = await TestGateway.start(settings, undefined, { httpFastPath: false });
  });
  afterAll(async () => {
    await fast.close();
    await apollo.close();
  });

  it("give every request the same status, headers and body, and count the same operations", async () => {
    const fastAnswers = await answersOf(fast);
    const apolloAnswers = await answersOf(apollo);
    expect(fastAnswers.map(([name]) => name)).toEqual(apolloAnswers.map(([name]) => name));
    for (const [i, [name, answer]] of fastAnswers.entries()) {
      expect({ name, ...answer }).toEqual({ name, ...apolloAnswers[i]![1] });
    }
    // The burst ends refused: the rate limit holds on the fast path.
    expect(fastAnswers.at(-1)![1].status).toBe(429);
    expect(await operationCounts(fast)).toEqual(await operationCounts(apollo));
  });
});
