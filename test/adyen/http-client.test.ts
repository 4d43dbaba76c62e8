import { createServer, type Server, type Socket } from "node:net";
import adyen from "@adyen/api-library";
import { afterEach, describe, expect, it } from "vitest";
import { AdyenHttpClient } from "../../src/adyen/http-client.js";

const config = new adyen.Config({ apiKey: "test-api-key-never-sent-in-clear" });
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A TCP listener that keeps the first bytes each connection sends, then hangs up. */
async function firstBytesListener(): Promise<{ port: number; received: Promise<Buffer> }> {
  let deliver: (bytes: Buffer) => void = () => {};
  const received = new Promise<Buffer>((resolve) => {
    deliver = resolve;
  });
  const server = createServer((socket: Socket) => {
    socket.once("data", (bytes: Buffer) => {
      deliver(bytes);
      socket.destroy();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { port: address.port, received };
}

describe("AdyenHttpClient", () => {
  it("speaks TLS to Adyen (no simulator URL): the API key never crosses the wire in clear", async () => {
    const { port, received } = await firstBytesListener();
    const client = new AdyenHttpClient({ apiKey: "test-api-key-never-sent-in-clear", timeoutMs: 5_000 });
    const call = client.request(`https://127.0.0.1:${port}/v72/payments`, "{}", config, true, { idempotencyKey: "k-1" });
    const bytes = await received;
    // 0x16: a TLS handshake record (the ClientHello); plain HTTP would start with "POST".
    expect(bytes[0]).toBe(0x16);
    expect(bytes.toString("latin1")).not.toContain("test-api-key-never-sent-in-clear");
    await expect(call).rejects.toMatchObject({ errorCode: "NETWORK", statusCode: 0 });
    client.close();
  });

  it("speaks plain HTTP to the simulator, on the simulator's address", async () => {
    const { port, received } = await firstBytesListener();
    const client = new AdyenHttpClient({ apiKey: "simulator-key", timeoutMs: 5_000, baseUrl: `http://127.0.0.1:${port}` });
    const call = client.request("https://checkout-test.adyen.com/v72/payments", "{}", config, true, { idempotencyKey: "k-2" });
    const request = (await received).toString("latin1");
    expect(request.startsWith("POST /v72/payments HTTP/1.1\r\n")).toBe(true);
    expect(request).toMatch(/\r\nIdempotency-Key: k-2\r\n/i);
    expect(request).toMatch(/\r\nConnection: keep-alive\r\n/i);
    await expect(call).rejects.toMatchObject({ errorCode: "NETWORK", statusCode: 0 });
    client.close();
  });
});
