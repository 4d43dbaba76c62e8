import { randomBytes } from "node:crypto";

/** Branded ids, so that ids of different kinds never mix. */
declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** The gateway's own payment id: 128 random bits, unguessable. */
export type PaymentId = Brand<string, "PaymentId">;
/** Adyen's reference of a payment (or, for RECURRING_CONTRACT, of a token). */
export type PspReference = Brand<string, "PspReference">;
/** The name half of a `GATEWAY_API_KEYS` entry: who owns a payment. Never the secret. */
export type ApiKeyName = Brand<string, "ApiKeyName">;
/** Adyen's recurring token (`storedPaymentMethodId`). */
export type StoredPaymentMethodId = Brand<string, "StoredPaymentMethodId">;

export function newPaymentId(): PaymentId {
  return `pay_${randomBytes(16).toString("base64url")}` as PaymentId;
}

/** The gateway's own refund id: 128 random bits; Adyen's Idempotency-Key for the refund is derived from it. */
export type RefundId = Brand<string, "RefundId">;

export function newRefundId(): RefundId {
  return `rfd_${randomBytes(16).toString("base64url")}` as RefundId;
}
