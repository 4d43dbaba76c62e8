import type { ApiKeyName, PaymentId, PspReference, RefundId, StoredPaymentMethodId } from "./ids.js";
import type { Refund, RefundStatus } from "./refund.js";
import type { EventSource, PaymentStatus } from "./status.js";

/** Money in minor units (KRW has no decimals). */
export interface Amount {
  value: number;
  currency: string;
}

export const Channel = { ANDROID: "ANDROID", IOS: "IOS", WEB: "WEB" } as const;
export type Channel = (typeof Channel)[keyof typeof Channel];

export const RecurringProcessingModel = {
  SUBSCRIPTION: "SUBSCRIPTION",
  UNSCHEDULED_CARD_ON_FILE: "UNSCHEDULED_CARD_ON_FILE",
} as const;
export type RecurringProcessingModel = (typeof RecurringProcessingModel)[keyof typeof RecurringProcessingModel];

export const KAKAOPAY = "kakaopay";

/**
 * A payment as the gateway keeps it. Its row exists before Adyen is called; until Adyen's first answer
 * is recorded, `status` is null and `version` 0, and apps do not see it.
 */
export interface Payment {
  id: PaymentId;
  owner: ApiKeyName;
  reference: string;
  amount: Amount;
  paymentMethodType: string;
  status: PaymentStatus | null;
  version: number;
  resultCode: string | null;
  refusalReason: string | null;
  pspReference: PspReference | null;
  action: unknown | null;
  returnUrl: string | null;
  countryCode: string;
  shopperLocale: string | null;
  channel: Channel | null;
  shopperReference: string | null;
  storePaymentMethod: boolean;
  /** Set for a charge of a stored token: such a payment never asks for details. */
  storedPaymentMethodId: StoredPaymentMethodId | null;
  recurringProcessingModel: RecurringProcessingModel | null;
  /** An AUTHORISATION success=true was applied: no later webhook un-authorises the payment. */
  authorisedByWebhook: boolean;
  /** When Adyen answered the shopper's details: they are sent once. */
  detailsSubmittedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A payment apps may see: Adyen has answered at least once. */
export type VisiblePayment = Payment & { status: PaymentStatus };

/**
 * How long a KakaoPay payment session at Adyen lasts (at most 1 hour by default; the simulator's offer,
 * SIMULATOR_OFFER_TTL_SECONDS, 15 minutes). A webhook matched by merchant reference is about a payment created
 * within it; a row whose /payments call failed for good is expired after it.
 */
export const PAYMENT_SESSION_LIFETIME_MS = 60 * 60_000;

export function isVisible(payment: Payment): payment is VisiblePayment {
  return payment.status !== null;
}

/**
 * One recorded change: of the payment's status, or of one of its refunds (then `refundId` is set and `status` is the
 * payment's, unchanged). `version` is the payment's version after it.
 */
export interface PaymentEvent {
  paymentId: PaymentId;
  version: number;
  status: PaymentStatus;
  previousStatus: PaymentStatus | null;
  source: EventSource;
  eventCode: string | null;
  resultCode: string | null;
  refundId: RefundId | null;
  /** What this change made the refund. */
  refundStatus: RefundStatus | null;
  occurredAt: Date;
}

/** A committed change, as published to subscribers; `refund` is the refund as this change left it. */
export interface PaymentStatusChange {
  payment: VisiblePayment;
  event: PaymentEvent;
  refund?: Refund;
}

/**
 * The payment as of one of its events, for subscribers: status, version, resultCode (the last one seen up to that
 * event) and updatedAt (the event's occurredAt) are as right after it; every other field is as in `latest`.
 */
export function paymentAsOf(latest: VisiblePayment, event: PaymentEvent, resultCode: string | null): VisiblePayment {
  return { ...latest, status: event.status, version: event.version, resultCode, updatedAt: event.occurredAt };
}
