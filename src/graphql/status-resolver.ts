import { Arg, Ctx, ID, Int, Resolver, Root, type SubscribeResolverData, Subscription } from "type-graphql";
import type { PaymentStatusChange } from "../payments/payment.js";
import { type GatewayContext, requirePrincipal } from "./context.js";
import { PaymentStatusEventType } from "./types.js";

interface WatchArgs {
  paymentId: string;
  afterVersion?: number | null;
}

@Resolver()
export class PaymentStatusResolver {
  @Subscription(() => PaymentStatusEventType, {
    description:
      "Pushes every status change of one payment. With afterVersion, first replays the changes after that version that the client missed, then goes live: no gap, no duplicate. An afterVersion above the payment's version is BAD_USER_INPUT (field afterVersion).",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, WatchArgs, GatewayContext>) => {
      const { paymentId, afterVersion } = args;
      return context.payments.watchStatus(requirePrincipal(context), paymentId, afterVersion ?? null);
    },
  })
  async paymentStatusChanged(
    @Root() change: PaymentStatusChange,
    @Ctx() context: GatewayContext,
    @Arg("paymentId", () => ID) _paymentId: string,
    @Arg("afterVersion", () => Int, { nullable: true }) _afterVersion?: number | null,
  ): Promise<PaymentStatusEventType> {
    // A live change carries its refund; a replayed one names it, and the refund is read as it is now.
    const refund = change.refund ?? (change.event.refundId ? await context.refunds.get(change.event.refundId) : null);
    return {
      refund,
      refundStatus: change.event.refundStatus,
      payment: change.payment,
      previousStatus: change.event.previousStatus,
      status: change.event.status,
      source: change.event.source,
      version: change.event.version,
      occurredAt: change.event.occurredAt,
    };
  }
}
