import "reflect-metadata";
import type { GraphQLSchema } from "graphql";
import { buildSchema, type PubSub } from "type-graphql";
import type { PaymentId } from "../payments/ids.js";
import type { PaymentStatusChange } from "../payments/payment.js";
import type { StatusFeed } from "../payments/ports.js";
import { PaymentResolver } from "./payment-resolver.js";
import { PaymentEventRefundResolver, PaymentRefundsResolver, RefundResolver } from "./refund-resolver.js";
import { PaymentStatusResolver } from "./status-resolver.js";
import { StoredPaymentMethodResolver } from "./stored-payment-method-resolver.js";

/**
 * The code-first schema; schema/schema.graphql is emitted from it. type-graphql insists on a PubSub even
 * though our subscription brings its own `subscribe` (for ownership and replay), so it gets the status feed.
 */
export function buildGatewaySchema(feed: StatusFeed): Promise<GraphQLSchema> {
  const pubSub: PubSub = {
    publish: (_topic, change) => feed.publish(change as PaymentStatusChange),
    subscribe: (_topic, paymentId) => feed.subscribe(paymentId as PaymentId),
  };
  return buildSchema({
    resolvers: [
      PaymentResolver,
      PaymentStatusResolver,
      StoredPaymentMethodResolver,
      RefundResolver,
      PaymentRefundsResolver,
      PaymentEventRefundResolver,
    ],
    validate: false,
    pubSub,
  });
}
