import { DateTimeResolver, JSONResolver } from "graphql-scalars";
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { Channel, RecurringProcessingModel } from "../payments/payment.js";
import { RefundStatus } from "../payments/refund.js";
import { EventSource, PaymentStatus, ShopperNextStep } from "../payments/status.js";

// Every field names its type explicitly: tsx and other decorator-metadata-less runners must work too.
// Object types are simpleResolvers: a plain field is read as a property (graphql-jit inlines it) instead of through
// type-graphql's per-field resolver, which only runs middlewares, and the schema has none (BENCHMARKS.md, scenario 2).
// Field resolvers (@FieldResolver) are unaffected.
const SIMPLE = { simpleResolvers: true } as const;

registerEnumType(PaymentStatus, { name: "PaymentStatus", description: "Where a payment stands." });
registerEnumType(ShopperNextStep, {
  name: "ShopperNextStep",
  description: 'What the app should tell the shopper (the "Action to take" column of Adyen\'s KakaoPay guide).',
});
registerEnumType(EventSource, { name: "EventSource", description: "Who told the gateway about a status change." });
registerEnumType(RecurringProcessingModel, { name: "RecurringProcessingModel" });
registerEnumType(Channel, { name: "Channel" });
registerEnumType(RefundStatus, {
  name: "RefundStatus",
  description: "Where a refund stands. FAILED and REVERSED are final.",
  valuesConfig: {
    PENDING: { description: "Written, sent to Adyen (or being re-sent); the REFUND webhook decides." },
    SUCCEEDED: { description: "REFUND success=true." },
    FAILED: { description: "REFUND success=false, REFUND_FAILED, or Adyen rejected the request; `reason` says why." },
    REVERSED: { description: "REFUNDED_REVERSED: the refunded money came back to the merchant." },
  },
});

@ObjectType("Amount", { ...SIMPLE, description: "Money in minor units; KRW has 0 decimals." })
export class AmountType {
  @Field(() => Int) value!: number;
  @Field(() => String) currency!: string;
}

@InputType("AmountInput", { description: "Money in minor units; KRW has 0 decimals." })
export class AmountInput {
  @Field(() => Int) value!: number;
  @Field(() => String) currency!: string;
}

@ObjectType("PaymentMethod", SIMPLE)
export class PaymentMethodType {
  @Field(() => String) type!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true, description: "Adyen's checkout logo for this method." }) logoUrl!: string | null;
}

@ObjectType("PaymentEvent", { ...SIMPLE, description: "One recorded status change." })
export class PaymentEventType {
  @Field(() => Int, { description: "The payment's version after this change." }) version!: number;
  @Field(() => PaymentStatus) status!: PaymentStatus;
  @Field(() => EventSource) source!: EventSource;
  @Field(() => String, { nullable: true, description: "The webhook eventCode, when source is WEBHOOK." })
  eventCode!: string | null;
  @Field(() => String, { nullable: true }) resultCode!: string | null;
  @Field(() => RefundStatus, { nullable: true, description: "What this change made the refund (refund.status is its status now)." })
  refundStatus!: RefundStatus | null;
  @Field(() => DateTimeResolver) occurredAt!: Date;
}

@ObjectType("Payment", SIMPLE)
export class PaymentType {
  @Field(() => ID, { description: "The gateway's own id: unguessable." }) id!: string;
  @Field(() => String, { description: "The merchant's reference, sent to Adyen as `reference`." }) reference!: string;
  @Field(() => PaymentStatus) status!: PaymentStatus;
  @Field(() => String, { nullable: true, description: "The last Adyen resultCode seen." }) resultCode!: string | null;
  @Field(() => String, { nullable: true }) refusalReason!: string | null;
  @Field(() => String, { nullable: true }) pspReference!: string | null;
  @Field(() => AmountType) amount!: AmountType;
  @Field(() => String, { description: '"kakaopay"' }) paymentMethodType!: string;
  @Field(() => String, { nullable: true }) shopperReference!: string | null;
  @Field(() => Boolean) storePaymentMethod!: boolean;
  @Field(() => Int, { description: "+1 on every change: of status, or of one of its refunds." }) version!: number;
  @Field(() => DateTimeResolver) createdAt!: Date;
  @Field(() => DateTimeResolver) updatedAt!: Date;
}

@ObjectType("PaymentStatusEvent", SIMPLE)
export class PaymentStatusEventType {
  @Field(() => PaymentType, {
    description:
      "The payment as of this event's version, replayed or live: status, nextStep, action, version, resultCode, updatedAt (the event's occurredAt) and events are as right after this change; the other fields (refusalReason, pspReference, …) are the latest the gateway knew when it sent the event.",
  })
  payment!: PaymentType;
  @Field(() => PaymentStatus, { nullable: true }) previousStatus!: PaymentStatus | null;
  @Field(() => PaymentStatus) status!: PaymentStatus;
  @Field(() => EventSource) source!: EventSource;
  @Field(() => Int) version!: number;
  @Field(() => RefundType, { nullable: true, description: "Set when this change is a refund's." }) refund!: RefundType | null;
  @Field(() => RefundStatus, { nullable: true, description: "What this change made the refund." }) refundStatus!: RefundStatus | null;
  @Field(() => DateTimeResolver) occurredAt!: Date;
}

@InputType()
export class PaymentMethodsInput {
  @Field(() => AmountInput) amount!: AmountInput;
  @Field(() => String, { description: '"KR" for KakaoPay.' }) countryCode!: string;
  @Field(() => String, { nullable: true }) shopperLocale?: string | null;
  @Field(() => Channel, { nullable: true }) channel?: Channel | null;
}

@InputType()
export class StartKakaoPayPaymentInput {
  @Field(() => AmountInput) amount!: AmountInput;
  @Field(() => String, { description: "1–80 characters." }) reference!: string;
  @Field(() => String, {
    description: "At most 1024 characters; an origin or app scheme (myapp://) from RETURN_URL_ALLOWLIST.",
  })
  returnUrl!: string;
  @Field(() => String, { nullable: true, description: 'Default "KR".' }) countryCode?: string | null;
  @Field(() => String, { nullable: true }) shopperLocale?: string | null;
  @Field(() => Channel, { nullable: true }) channel?: Channel | null;
  @Field(() => String, { nullable: true, description: "Required when storePaymentMethod is true; 3–191 characters." })
  shopperReference?: string | null;
  @Field(() => Boolean, { nullable: true, description: "Default false." }) storePaymentMethod?: boolean | null;
  @Field(() => String, { nullable: true, description: "Same key + same input = same payment, no second Adyen call." })
  idempotencyKey?: string | null;
}

@InputType()
export class SubmitPaymentDetailsInput {
  @Field(() => ID) paymentId!: string;
  @Field(() => JSONResolver, { description: 'actionComponentData.details, e.g. {"redirectResult": "..."}' })
  details!: unknown;
  @Field(() => String, { nullable: true, description: "Same key + same input = the first result, no second Adyen call." })
  idempotencyKey?: string | null;
}

@ObjectType("StoredPaymentMethod", { ...SIMPLE, description: "A shopper's recurring KakaoPay token." })
export class StoredPaymentMethodType {
  @Field(() => ID, { description: "Adyen's token: the RECURRING_CONTRACT pspReference." }) id!: string;
  @Field(() => String, { description: '"kakaopay"' }) type!: string;
  @Field(() => String) shopperReference!: string;
  @Field(() => ID, { nullable: true, description: "The payment that created it." }) originalPaymentId!: string | null;
  @Field(() => Boolean) active!: boolean;
  @Field(() => DateTimeResolver) createdAt!: Date;
}

@InputType()
export class ChargeStoredPaymentMethodInput {
  @Field(() => ID) storedPaymentMethodId!: string;
  @Field(() => String) shopperReference!: string;
  @Field(() => AmountInput) amount!: AmountInput;
  @Field(() => String, { description: "1–80 characters." }) reference!: string;
  @Field(() => RecurringProcessingModel) recurringProcessingModel!: RecurringProcessingModel;
  @Field(() => String, { nullable: true, description: "Same key + same input = same payment, no second Adyen call." })
  idempotencyKey?: string | null;
}

@InputType()
export class DisableStoredPaymentMethodInput {
  @Field(() => ID) storedPaymentMethodId!: string;
  @Field(() => String) shopperReference!: string;
}

@ObjectType("Refund", {
  ...SIMPLE,
  description: "A refund of a captured payment (KakaoPay through Adyen cannot be cancelled, only refunded).",
})
export class RefundType {
  @Field(() => ID) id!: string;
  @Field(() => ID) paymentId!: string;
  @Field(() => AmountType) amount!: AmountType;
  @Field(() => String, { description: "The merchant's reference of this refund, sent to Adyen." }) reference!: string;
  @Field(() => RefundStatus) status!: RefundStatus;
  @Field(() => String, { nullable: true, description: "Why it FAILED." }) reason!: string | null;
  @Field(() => String, { nullable: true, description: "Adyen's pspReference of the refund (not the payment's)." })
  pspReference!: string | null;
  @Field(() => EventSource, { description: "API: asked through the gateway; WEBHOOK: made elsewhere (Customer Area), learnt from Adyen." })
  source!: EventSource;
  @Field(() => DateTimeResolver) createdAt!: Date;
  @Field(() => DateTimeResolver) updatedAt!: Date;
}

@InputType()
export class RefundPaymentInput {
  @Field(() => ID) paymentId!: string;
  @Field(() => AmountInput, { nullable: true, description: "Default: the whole refundableAmount." }) amount?: AmountInput | null;
  @Field(() => String, { nullable: true, description: 'Default: "<payment reference>-R<n>", n = the number of refunds so far + 1.' })
  reference?: string | null;
  @Field(() => String, { nullable: true, description: "Same key + same input = the same refund, no second Adyen call." })
  idempotencyKey?: string | null;
}
