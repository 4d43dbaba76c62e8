import { print } from "graphql";
import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";
import { PaymentRefundsDocument, RefundEventsDocument, type RefundEventsSubscription } from "../generated/graphql.js";
import { ALPHA_KEY, graphqlRequest } from "./gateway.js";

/** A real graphql-ws client of any gateway URL; the caller disposes of it. */
export function wsClient(url: string): Client {
  return createClient({
    url: `${url.replace("http", "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${ALPHA_KEY}` },
    retryAttempts: 0,
    lazy: true,
  });
}

export type Change = RefundEventsSubscription["paymentStatusChanged"];

/** Every change of one payment from version 1 on, as a subscriber on the given socket receives it. */
export function watch(client: Client, paymentId: string): { changes: Change[]; errors: unknown[] } {
  const changes: Change[] = [];
  const errors: unknown[] = [];
  client.subscribe<RefundEventsSubscription>(
    { query: print(RefundEventsDocument), variables: { paymentId, afterVersion: 0 } },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        if (result.data) changes.push(result.data.paymentStatusChanged);
      },
      error: (error) => errors.push(error),
      complete: () => {},
    },
  );
  return { changes, errors };
}

/** A payment with its refunds and its recorded changes, as the gateway at `url` reads them. */
export async function paymentHistory(url: string, id: string) {
  const { data, errors } = await graphqlRequest(url, PaymentRefundsDocument, { id });
  if (!data?.payment) throw new Error(`payment not found: ${JSON.stringify(errors)}`);
  return data.payment;
}

/** What a subscriber must have received: exactly the payment's recorded changes, in version order. */
export function asRecorded(events: Awaited<ReturnType<typeof paymentHistory>>["events"]) {
  return events.map((e) => ({ version: e.version, status: e.status, refundStatus: e.refundStatus ?? null, refund: e.refund?.id ?? null }));
}

export function asReceived(changes: Change[]) {
  return changes.map((c) => ({ version: c.version, status: c.status, refundStatus: c.refundStatus ?? null, refund: c.refund?.id ?? null }));
}
