import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ALPHA_KEY, eventually, TestGateway } from "../support/gateway.js";
import { notificationBody, postWebhook, signedItem } from "../support/webhooks.js";

let gw: TestGateway | null = null;
const opened: Socket[] = [];
afterEach(async () => {
  for (const socket of opened.splice(0)) socket.destroy();
  await gw?.close();
  gw = null;
});

/** A raw TCP client that sends `text` and never more; `closed` resolves when the server lets it go. */
async function halfSent(url: string, text: string): Promise<{ closed: Promise<string> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  opened.push(socket);
  let answer = "";
  socket.on("data", (chunk) => {
    answer += chunk.toString();
  });
  socket.on("error", () => {});
  const closed = new Promise<string>((resolve) => socket.on("close", () => resolve(answer)));
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.write(text);
  return { closed };
}

/** Resolves with the value, or with "still open" after a bound far above the configured timeouts. */
const within = <T>(promise: Promise<T>, ms = 15_000) =>
  Promise.race([promise, new Promise<"still open">((resolve) => setTimeout(() => resolve("still open"), ms))]);

describe("slow clients", () => {
  it("a request whose headers never end is cut after HTTP_HEADERS_TIMEOUT_MS", async () => {
    gw = await TestGateway.start({ HTTP_HEADERS_TIMEOUT_MS: "300", HTTP_REQUEST_TIMEOUT_MS: "600" });
    const client = await halfSent(gw.url, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    const outcome = await within(client.closed);
    expect(outcome).not.toBe("still open");
  });

  it("a request whose body never ends is cut after HTTP_REQUEST_TIMEOUT_MS", async () => {
    gw = await TestGateway.start({ HTTP_HEADERS_TIMEOUT_MS: "300", HTTP_REQUEST_TIMEOUT_MS: "600" });
    const client = await halfSent(
      gw.url,
      `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${ALPHA_KEY}\r\nContent-Length: 1000\r\n\r\n{"query":`,
    );
    const outcome = await within(client.closed);
    expect(outcome).not.toBe("still open");
  });
});

describe("authentication before the body", () => {
  it("a large body without a valid API key is refused with UNAUTHENTICATED before it is read", async () => {
    gw = await TestGateway.start();
    const response = await fetch(`${gw.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `# ${"x".repeat(30_000)}\n{ __typename }` }),
    });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(body.errors[0]?.extensions.code).toBe("UNAUTHENTICATED");
  });

  it("the same body with a valid API key is served", async () => {
    gw = await TestGateway.start();
    const response = await fetch(`${gw.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ALPHA_KEY}` },
      body: JSON.stringify({ query: `# ${"x".repeat(30_000)}\n{ __typename }` }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: "Query" } });
  });

  it("a small operation without a key still reaches GraphQL (introspection for Sandbox)", async () => {
    gw = await TestGateway.start();
    const response = await fetch(`${gw.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __schema { queryType { name } } }" }),
    });
    expect(await response.json()).toEqual({ data: { __schema: { queryType: { name: "Query" } } } });
  });
});

describe("MAX_CONNECTIONS", () => {
  it("over the general cap, /healthz and webhooks still answer while /graphql is told to come back later", async () => {
    gw = await TestGateway.start({ MAX_CONNECTIONS: "3", RESERVED_CONNECTIONS: "20" });
    const holders = [];
    for (let i = 0; i < 3; i++) holders.push(await halfSent(gw.url, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Le"));
    const url = gw.url;
    const busy = await eventually(async () => {
      const response = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${ALPHA_KEY}` },
        body: JSON.stringify({ query: "{ __typename }" }),
      });
      await response.text();
      if (response.status !== 503) throw new Error(`answered ${response.status}`);
      return response;
    });
    expect(busy.headers.get("retry-after")).toBeTruthy();

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const webhook = await postWebhook(
      url,
      notificationBody([signedItem({ eventCode: "AUTHORISATION", pspReference: "PSPLIMIT0000001", merchantReference: "x" })]),
    );
    expect(webhook).toEqual({ status: 200, text: "[accepted]" });
    // A WebSocket is a general connection too.
    const upgrade = await new Promise<number>((resolve) => {
      const socket = new WebSocket(`${url.replace("http", "ws")}/graphql`, "graphql-transport-ws");
      socket.on("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0));
      socket.on("open", () => {
        socket.close();
        resolve(101);
      });
      socket.on("error", () => {});
    });
    expect(upgrade).toBe(503);

    // Once the slow clients let go, /graphql is served again.
    for (const socket of opened.splice(0)) socket.destroy();
    await eventually(async () => {
      const response = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${ALPHA_KEY}` },
        body: JSON.stringify({ query: "{ __typename }" }),
      });
      expect(await response.json()).toEqual({ data: { __typename: "Query" } });
    });
  });
});
