import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root } from "type-graphql";
import type { RefundId } from "../payments/ids.js";
import type { PaymentEvent, VisiblePayment } from "../payments/payment.js";
import { type Refund, refundableValue, refundedValue } from "../payments/refund.js";
import { type GatewayContext, requireOwner } from "./context.js";
import { AmountType, PaymentEventType, PaymentType, RefundPaymentInput, RefundType } from "./types.js";

/** Thin: refundPayment calls the use case; the payment's refund fields read its refunds. */
@Resolver(() => RefundType)
export class RefundResolver {
  @Mutation(() => RefundType, {
    description:
      "Refunds an AUTHORISED payment, in full or in part; several refunds may follow one another. PENDING until Adyen's REFUND webhook decides.",
  })
  async refundPayment(@Arg("input", () => RefundPaymentInput) input: RefundPaymentInput, @Ctx() context: GatewayContext): Promise<Refund> {
    return context.refunds.refundPayment(requireOwner(context), input);
  }
}

/**
 * One read of a payment's refunds per payment object the response is built from: its `refunds`, `refundedAmount` and
 * `refundableAmount` are resolved side by side, and separate reads could straddle a refund's change.
 */
const refundsRead = new WeakMap<VisiblePayment, Promise<Refund[]>>();

function refundsOf(payment: VisiblePayment, context: GatewayContext): Promise<Refund[]> {
  let read = refundsRead.get(payment);
  if (!read) {
    read = context.refunds.listFor(payment.id);
    refundsRead.set(payment, read);
  }
  return read;
}

@Resolver(() => PaymentType)
export class PaymentRefundsResolver {
  @FieldResolver(() => [RefundType], { description: "Its refunds, oldest first." })
  refunds(@Root() payment: VisiblePayment, @Ctx() context: GatewayContext): Promise<Refund[]> {
    return refundsOf(payment, context);
  }

  @FieldResolver(() => AmountType, { description: "Sum of SUCCEEDED refunds (a REVERSED refund's money came back)." })
  async refundedAmount(@Root() payment: VisiblePayment, @Ctx() context: GatewayContext): Promise<AmountType> {
    return { value: refundedValue(await refundsOf(payment, context)), currency: payment.amount.currency };
  }

  @FieldResolver(() => AmountType, { description: "AUTHORISED: amount - SUCCEEDED - PENDING refunds; otherwise 0." })
  async refundableAmount(@Root() payment: VisiblePayment, @Ctx() context: GatewayContext): Promise<AmountType> {
    return { value: refundableValue(payment, await refundsOf(payment, context)), currency: payment.amount.currency };
  }
}

@Resolver(() => PaymentEventType)
export class PaymentEventRefundResolver {
  @FieldResolver(() => RefundType, { nullable: true, description: "Set when this change is a refund's (status is then the payment's)." })
  refund(@Root() event: PaymentEvent, @Ctx() context: GatewayContext): Promise<Refund | null> | null {
    return event.refundId ? context.refunds.get(event.refundId as RefundId) : null;
  }
}
