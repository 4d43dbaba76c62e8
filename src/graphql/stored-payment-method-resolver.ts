import { Arg, Ctx, Mutation, Query, Resolver } from "type-graphql";
import type { VisiblePayment } from "../payments/payment.js";
import type { StoredPaymentMethod } from "../payments/stored-payment-method.js";
import { type GatewayContext, requireOwner } from "./context.js";
import { ChargeStoredPaymentMethodInput, DisableStoredPaymentMethodInput, PaymentType, StoredPaymentMethodType } from "./types.js";

@Resolver(() => StoredPaymentMethodType)
export class StoredPaymentMethodResolver {
  @Query(() => [StoredPaymentMethodType], { description: "The shopper's stored KakaoPay methods, active and disabled." })
  storedPaymentMethods(
    @Arg("shopperReference", () => String) shopperReference: string,
    @Ctx() context: GatewayContext,
  ): Promise<StoredPaymentMethod[]> {
    return context.storedPaymentMethods.list(requireOwner(context), shopperReference);
  }

  @Mutation(() => PaymentType, { description: "Charges a stored method with no shopper present (ContAuth)." })
  chargeStoredPaymentMethod(
    @Arg("input", () => ChargeStoredPaymentMethodInput) input: ChargeStoredPaymentMethodInput,
    @Ctx() context: GatewayContext,
  ): Promise<VisiblePayment> {
    return context.payments.chargeStoredPaymentMethod(requireOwner(context), input);
  }

  @Mutation(() => StoredPaymentMethodType, { description: "Disables a stored method at Adyen; later charges are refused." })
  disableStoredPaymentMethod(
    @Arg("input", () => DisableStoredPaymentMethodInput) input: DisableStoredPaymentMethodInput,
    @Ctx() context: GatewayContext,
  ): Promise<StoredPaymentMethod> {
    return context.storedPaymentMethods.disable(requireOwner(context), input);
  }
}
