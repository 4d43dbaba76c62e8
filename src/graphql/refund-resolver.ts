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

@Resolver(() => PaymentType)
export class PaymentRefundsResolver {
  @FieldResolver(() => [RefundType], { description: "Its refunds, oldest first." })
  refunds(@Root() payment: VisiblePayment, @Ctx() context: GatewayContext): Promise<Refund[]> {
    return context.refunds.listFor(payment.id);
  }

  @FieldResolver(() => AmountType, { description: "Sum of SUCCEEDED refunds (a REVERSED refund's money came back)." })
  async refundedAmount(@Root() payment: VisiblePayment, @Ctx() context: GatewayContext): Promise<AmountType> {
    return { value: refundedValue(await context.refunds.listFor(payment.id)), currency: payment.amount.currency };
  }

  @FieldResolver(() => AmountType, { description: "AUTHORISED: amount - SUCCEEDED - PENDING refunds; otherwise 0." })
  async refundableAmount(@Root() payment: VisiblePayment, @Ctx() context: GatewayContext): Promise<AmountType> {
    return { value: refundableValue(payment, await context.refunds.listFor(payment.id)), currency: payment.amount.currency };
  }
}

@Resolver(() => PaymentEventType)
export class PaymentEventRefundResolver {
  @FieldResolver(() => RefundType, { nullable: true, description: "Set when this change is a refund's (status is then the payment's)." })
  refund(@Root() event: PaymentEvent, @Ctx() context: GatewayContext): Promise<Refund | null> | null {
    return event.refundId ? context.refunds.get(event.refundId as RefundId) : null;
  }
}
