import { JSONResolver } from "graphql-scalars";
import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import type { VisiblePayment } from "../payments/payment.js";
import { nextStepFor, PaymentStatus, ShopperNextStep } from "../payments/status.js";
import { type GatewayContext, requireOwner, requirePrincipal } from "./context.js";
import {
  PaymentEventType,
  PaymentMethodsInput,
  PaymentMethodType,
  PaymentType,
  StartKakaoPayPaymentInput,
  SubmitPaymentDetailsInput,
} from "./types.js";

/** Thin: each operation authenticates, calls one use case and lets the types map the result. */
@Resolver(() => PaymentType)
export class PaymentResolver {
  @Query(() => [PaymentMethodType], { description: "The payment methods an app can offer, KakaoPay among them." })
  async paymentMethods(
    @Arg("input", () => PaymentMethodsInput) input: PaymentMethodsInput,
    @Ctx() context: GatewayContext,
  ): Promise<PaymentMethodType[]> {
    requireOwner(context);
    return context.payments.listPaymentMethods(input);
  }

  @Query(() => PaymentType, {
    nullable: true,
    description: "One of the caller's payments; with a client secret, only the payment it is for.",
  })
  async payment(@Arg("id", () => ID) id: string, @Ctx() context: GatewayContext): Promise<VisiblePayment | null> {
    return context.payments.getOwned(requirePrincipal(context), id);
  }

  @Mutation(() => PaymentType, { description: "Starts a KakaoPay payment; hand `action` to Adyen's Redirect Component." })
  async startKakaoPayPayment(
    @Arg("input", () => StartKakaoPayPaymentInput) input: StartKakaoPayPaymentInput,
    @Ctx() context: GatewayContext,
  ): Promise<VisiblePayment> {
    return context.payments.startKakaoPayPayment(requireOwner(context), input);
  }

  @Mutation(() => PaymentType, { description: "Sends the details the Redirect Component returned (e.g. redirectResult)." })
  async submitPaymentDetails(
    @Arg("input", () => SubmitPaymentDetailsInput) input: SubmitPaymentDetailsInput,
    @Ctx() context: GatewayContext,
  ): Promise<VisiblePayment> {
    return context.payments.submitPaymentDetails(requirePrincipal(context), input);
  }

  @FieldResolver(() => ShopperNextStep, { description: "What the app should tell the shopper now." })
  nextStep(@Root() payment: VisiblePayment): ShopperNextStep {
    return nextStepFor(payment.status);
  }

  @FieldResolver(() => JSONResolver, { nullable: true, description: "Adyen's action object, verbatim, while ACTION_REQUIRED." })
  action(@Root() payment: VisiblePayment): unknown {
    return payment.status === PaymentStatus.ACTION_REQUIRED ? payment.action : null;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description:
      "For the payment's server API key only (null to a client secret): hand it to the app, which may then read this payment, submit its details and follow it, and nothing else. Valid 24 hours after the payment was created.",
  })
  clientSecret(@Root() payment: VisiblePayment, @Ctx() context: GatewayContext): string | null {
    return context.principal ? context.payments.clientSecretFor(context.principal, payment) : null;
  }

  @FieldResolver(() => [PaymentEventType], { description: "The status history, oldest first." })
  events(@Root() payment: VisiblePayment, @Ctx() context: GatewayContext): Promise<PaymentEventType[]> {
    return context.payments.events(payment);
  }
}
