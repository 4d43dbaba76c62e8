import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { StartKakaoPayPaymentDocument } from "../generated/graphql.js";
import { ALPHA_KEY, BETA_KEY, eventually, TestGateway } from "../support/gateway.js";

let gw: TestGateway;
const sockets: WebSocket[] = [];
beforeAll(async () => {
  gw = await TestGateway.start({ MAX_SOCKETS_PER_KEY: "2", MAX_SUBSCRIPTIONS_PER_SOCKET: "2" });
});
afterAll(async () => {
  for (const socket of sockets) socket.terminate();
  await gw.close();
});

interface Raw {
  socket: WebSocket;
  messages: Array<{ type: string; id?: string }>;
  closed: Promise<{ code: number; reason: string }>;
}

/** A graphql-transport-ws socket that sends connection_init with `key` and waits for the ack or the close. */
async function connected(key: string): Promise<Raw & { acked: boolean }> {
  const socket = new WebSocket(`${gw.url.replace("http", "ws")}/graphql`, "graphql-transport-ws");
  sockets.push(socket);
  const messages: Raw["messages"] = [];
  let isClosed = false;
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on("close", (code, reason) => {
      isClosed = true;
      resolve({ code, reason: reason.toString() });
    }),
  );
  socket.on("message", (data) => messages.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${key}` } }));
  await eventually(async () => {
    if (!isClosed && !messages.some((m) => m.type === "connection_ack")) throw new Error("no ack yet");
  });
  return { socket, messages, closed, acked: !isClosed };
}

describe("WebSocket limits", () => {
  it("closes a key's socket over MAX_SOCKETS_PER_KEY with 4290, and other keys are not affected", async () => {
    const first = await connected(ALPHA_KEY);
    const second = await connected(ALPHA_KEY);
    expect(first.acked && second.acked).toBe(true);
    const third = await connected(ALPHA_KEY);
    expect(third.acked).toBe(false);
    expect(await third.closed).toEqual({ code: 4290, reason: "too many sockets for this API key" });
    expect((await connected(BETA_KEY)).acked).toBe(true);

    // A socket that closes gives its place back.
    first.socket.close();
    await first.closed;
    const again = await eventually(async () => {
      const socket = await connected(ALPHA_KEY);
      if (!socket.acked) throw new Error("still over the cap");
      return socket;
    });
    again.socket.close();
    second.socket.close();
    await Promise.all([again.closed, second.closed]);
  });

  it("closes a socket that opens more than MAX_SUBSCRIPTIONS_PER_SOCKET subscriptions with 4291", async () => {
    const started = await gw.data(StartKakaoPayPaymentDocument, {
      input: { amount: { value: 12300, currency: "KRW" }, reference: "socket-limits-1", returnUrl: "https://shop.example/r" },
    });
    const raw = await eventually(async () => {
      const socket = await connected(ALPHA_KEY);
      if (!socket.acked) throw new Error("the first test's sockets are still counted");
      return socket;
    });
    const query = "subscription ($id: ID!) { paymentStatusChanged(paymentId: $id) { version } }";
    for (const id of ["1", "2"]) {
      raw.socket.send(JSON.stringify({ id, type: "subscribe", payload: { query, variables: { id: started.startKakaoPayPayment.id } } }));
    }
    raw.socket.send(JSON.stringify({ id: "3", type: "subscribe", payload: { query, variables: { id: started.startKakaoPayPayment.id } } }));
    const outcome = await Promise.race([raw.closed, new Promise((resolve) => setTimeout(() => resolve("still open"), 10_000))]);
    expect(outcome).toEqual({ code: 4291, reason: "too many subscriptions on this socket" });
  });
});
