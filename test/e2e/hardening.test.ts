import { request } from "node:http";
import { format } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { ALPHA_KEY, TestGateway } from "../support/gateway.js";

const TYPO = `subscription Typo { paymentStatusChanged(paymentId: "x") { statu } }`;

/** The errors one operation gets over HTTP and over graphql-ws, from the same gateway. */
async function errorsOverBothTransports(target: TestGateway, query: string) {
  const response = await fetch(`${target.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ALPHA_KEY}` },
    body: JSON.stringify({ query }),
  });
  const http = ((await response.json()) as { errors: unknown[] }).errors;
  const ws = await new Promise<unknown>((resolve) =>
    target.ws(ALPHA_KEY).subscribe({ query }, { next: () => {}, error: resolve, complete: () => resolve("completed") }),
  );
  return { http, ws };
}
import { postWebhook } from "../support/webhooks.js";

let gw: TestGateway;
beforeAll(async () => {
  gw = await TestGateway.start();
});
afterAll(() => gw.close());

async function post(body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${gw.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ALPHA_KEY}`, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, json: text.startsWith("{") ? JSON.parse(text) : null };
}

const deepType = (levels: number) => `{ __type(name: "Payment") { ${"fields { type { ".repeat(levels)}name${" } }".repeat(levels)} } }`;
const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: payment(id: "x") { id }`).join(" ")} }`;
const directives = (n: number) => `{ __typename ${"@include(if: true) ".repeat(n)} }`;
const costly = (n: number) =>
  `{ ${Array.from({ length: n }, () => `payment(id: "x") { events { version status source } amount { value currency } }`).join(" ")} }`;

/** A raw graphql-transport-ws socket, for what a well-behaved client never sends. */
function rawSocket(): Promise<{ socket: WebSocket; closed: Promise<{ code: number; reason: string }>; messages: unknown[] }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${gw.url.replace("http", "ws")}/graphql`, "graphql-transport-ws");
    const messages: unknown[] = [];
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      socket.on("close", (code, reason) => done({ code, reason: reason.toString() })),
    );
    socket.on("message", (data) => messages.push(JSON.parse(data.toString())));
    socket.on("open", () => resolve({ socket, closed, messages }));
    socket.on("error", reject);
  });
}

async function initialised() {
  const raw = await rawSocket();
  raw.socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${ALPHA_KEY}` } }));
  await new Promise<void>((resolve) => {
    const check = () => (raw.messages.some((m) => (m as { type: string }).type === "connection_ack") ? resolve() : setTimeout(check, 10));
    check();
  });
  return raw;
}

async function subscribeRaw(query: string) {
  const raw = await initialised();
  raw.socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query } }));
  await new Promise<void>((resolve) => {
    const check = () =>
      raw.messages.some((m) => ["error", "next"].includes((m as { type: string }).type)) ? resolve() : setTimeout(check, 10);
    check();
  });
  raw.socket.close();
  return raw.messages.find((m) => ["error", "next"].includes((m as { type: string }).type)) as { type: string; payload: unknown };
}

describe("operation limits over HTTP (graphql-armor)", () => {
  it.each([
    ["depth", deepType(5), "depth"],
    ["aliases", aliases(11), "aliases"],
    ["directives", directives(11), "directives"],
    ["cost", costly(30), "Cost"],
    ["tokens", `{ ${"__typename ".repeat(1001)} }`, "token"],
  ])("rejects too much %s with BAD_USER_INPUT", async (_name, query, word) => {
    const result = await post({ query });
    expect(result.json.errors[0].extensions.code).toBe("BAD_USER_INPUT");
    expect(result.json.errors[0].message.toLowerCase()).toContain(word.toLowerCase());
    expect(result.json.data ?? null).toBeNull();
  });

  it("still answers operations within the limits, and the introspection Sandbox needs", async () => {
    expect((await post({ query: aliases(10) })).json.data).toMatchObject({ a0: null, a9: null });
    const { getIntrospectionQuery } = await import("graphql");
    expect((await post({ query: getIntrospectionQuery() })).json.data.__schema.queryType.name).toBe("Query");
  });

  it("refuses bodies over the limit with 413, batches, and a CSRF-able GET", async () => {
    expect((await post({ query: `{ __typename }`, pad: "x".repeat(70 * 1024) })).status).toBe(413);
    const batch = await post([{ query: "{ __typename }" }, { query: "{ __typename }" }]);
    expect(batch.status).toBe(400);
    const simpleGet = await fetch(`${gw.url}/graphql?query=${encodeURIComponent("{ __typename }")}`);
    expect(simpleGet.status).toBe(400);
    expect(await simpleGet.text()).toContain("CSRF");
  });

  it("refuses a chunked body (no content-length) with 413 once it passes the limit", async () => {
    const url = new URL(`${gw.url}/graphql`);
    const answer = await new Promise<string>((resolve, reject) => {
      const headers = { "content-type": "application/json", authorization: `Bearer ${ALPHA_KEY}`, "transfer-encoding": "chunked" };
      const sent = request({ host: url.hostname, port: url.port, path: "/graphql", method: "POST", headers }, (response) => {
        let body = "";
        response.on("data", (chunk) => {
          body += chunk;
        });
        response.on("end", () => resolve(`${response.statusCode} ${body}`));
      });
      sent.on("error", reject);
      for (let i = 0; i < 10; i++) sent.write("x".repeat(10_000));
    });
    expect(answer).toMatch(/^413 .*request body too large/);
  });

  it("refuses a webhook body over its limit with 413", async () => {
    const response = await postWebhook(gw.url, "x".repeat(300 * 1024));
    expect(response.status).toBe(413);
  });
});

describe("graphql-ws", () => {
  it.each([
    [
      "depth",
      `subscription { paymentStatusChanged(paymentId: "x") { payment { id } } } ${deepType(5).replace("{ __type", "query Q { __type")}`,
    ],
    [
      "aliases",
      `subscription { ${Array.from({ length: 11 }, (_, i) => `a${i}: paymentStatusChanged(paymentId: "x") { version }`).join(" ")} }`,
    ],
    ["tokens", `subscription { paymentStatusChanged(paymentId: "x") { ${"version ".repeat(1001)} } }`],
  ])("applies the same %s limits as HTTP", async (_name, query) => {
    const message = await subscribeRaw(query);
    expect(message.type).toBe("error");
  });

  it("answers a validation error exactly as HTTP does", async () => {
    const { http, ws } = await errorsOverBothTransports(gw, TYPO);
    expect(ws).toEqual(http);
    expect(JSON.stringify(http)).toContain('Cannot query field \\"statu\\"');
  });

  it("accepts only subscriptions", async () => {
    const message = await subscribeRaw(
      `mutation { submitPaymentDetails(input: { paymentId: "x", details: { redirectResult: "y" } }) { id } }`,
    );
    expect(message.type).toBe("error");
    expect(JSON.stringify(message.payload)).toContain("only subscriptions");
  });

  it("closes a socket that sends more than the payload cap", async () => {
    const raw = await initialised();
    raw.socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "x".repeat(100 * 1024) } }));
    expect((await raw.closed).code).toBe(1009);
  });

  it("logs 200 oversized frames on unauthenticated sockets in a few short lines, not a stack each", async () => {
    const printed: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
      printed.push(...format(...args).split("\n"));
    });
    const before = gw.lines.length;
    try {
      for (let batch = 0; batch < 10; batch++) {
        const codes = await Promise.all(
          Array.from({ length: 20 }, async () => {
            const raw = await rawSocket();
            raw.socket.send("x".repeat(100 * 1024));
            return (await raw.closed).code;
          }),
        );
        expect(codes.every((code) => code === 1009)).toBe(true);
      }
    } finally {
      spy.mockRestore();
    }
    const logged = [...gw.lines.slice(before).flatMap((line) => line.split("\n")), ...printed];
    // An earlier test's oversized frame may already have used this minute's line.
    expect(logged.length).toBeLessThanOrEqual(3);
    for (const line of logged) expect(line.length).toBeLessThan(200);
    expect(logged.join("\n")).not.toMatch(/\bat \S+ \(|\.js:\d+/);
  });

  it("closes a socket with an unknown key with 4403", async () => {
    const raw = await rawSocket();
    raw.socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: "Bearer nope-nope-nope-nope" } }));
    expect((await raw.closed).code).toBe(4403);
  });

  it("closes a socket that never authenticates", async () => {
    const raw = await rawSocket();
    expect((await raw.closed).code).toBe(4408);
  });
});

describe("NODE_ENV=production", () => {
  let prod: TestGateway;
  beforeAll(async () => {
    prod = await TestGateway.start({ NODE_ENV: "production" });
  });
  afterAll(() => prod.close());

  it("answers a typo with the same error over HTTP and graphql-ws, with no field suggestion", async () => {
    const { http, ws } = await errorsOverBothTransports(prod, TYPO);
    expect(ws).toEqual(http);
    expect(http).toEqual([
      expect.objectContaining({
        message: 'Cannot query field "statu" on type "PaymentStatusEvent".',
        extensions: { code: "BAD_USER_INPUT" },
      }),
    ]);
    expect(JSON.stringify(ws)).not.toMatch(/did you mean/i);
  });

  it("serves no Sandbox and no introspection, over HTTP or WebSocket", async () => {
    const page = await fetch(`${prod.url}/graphql`, { headers: { accept: "text/html" } });
    expect(await page.text()).not.toContain("embeddable-sandbox");
    const introspection = await fetch(`${prod.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ALPHA_KEY}` },
      body: JSON.stringify({ query: "{ __schema { types { name } } }" }),
    });
    const body = (await introspection.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(body.errors[0]?.extensions.code).toBe("BAD_USER_INPUT");
    expect(JSON.stringify(body)).not.toMatch(/stacktrace|at .*\.js:\d+/);

    const client = prod.ws(ALPHA_KEY);
    const errors: unknown[] = [];
    await new Promise<void>((resolve) =>
      client.subscribe(
        {
          query: `subscription { paymentStatusChanged(paymentId: "x") { version } } query Q { __schema { types { name } } }`,
          operationName: "Q",
        },
        {
          next: () => {},
          error: (e) => {
            errors.push(e);
            resolve();
          },
          complete: () => resolve(),
        },
      ),
    );
    expect(JSON.stringify(errors)).toMatch(/introspection|only subscriptions/i);
  });
});
