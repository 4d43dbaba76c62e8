/**
 * Rows -> domain values (and a new refund's row), for both stores: the PostgreSQL tables have the SQLite tables' columns with native types
 * (src/store/pg/schema.ts), so their rows fit these SQLite row types.
 */
import type { SignalEffect } from "../payments/apply-signal.js";
import type { ApiKeyName, PaymentId, PspReference, RefundId, StoredPaymentMethodId } from "../payments/ids.js";
import type { StoredNotification } from "../payments/notification.js";
import type { Amount, Channel, Payment, PaymentEvent, RecurringProcessingModel, VisiblePayment } from "../payments/payment.js";
import type { RecordedSignal } from "../payments/ports.js";
import type { Refund, RefundSource, RefundStatus } from "../payments/refund.js";
import type { EventSource, PaymentStatus } from "../payments/status.js";
import type { StoredPaymentMethod } from "../payments/stored-payment-method.js";
import type { notificationInbox, paymentEvents, payments, refunds, storedPaymentMethods } from "./sqlite/schema.js";

export function toPayment(row: typeof payments.$inferSelect): Payment {
  return {
    id: row.id as PaymentId,
    owner: row.owner as ApiKeyName,
    reference: row.reference,
    amount: { value: row.amountValue, currency: row.currency },
    paymentMethodType: row.paymentMethodType,
    status: row.status as PaymentStatus | null,
    version: row.version,
    resultCode: row.resultCode,
    refusalReason: row.refusalReason,
    pspReference: row.pspReference as PspReference | null,
    action: row.action ?? null,
    returnUrl: row.returnUrl,
    countryCode: row.countryCode,
    shopperLocale: row.shopperLocale,
    channel: row.channel as Channel | null,
    shopperReference: row.shopperReference,
    storePaymentMethod: row.storePaymentMethod,
    storedPaymentMethodId: row.storedPaymentMethodId as StoredPaymentMethodId | null,
    recurringProcessingModel: row.recurringProcessingModel as RecurringProcessingModel | null,
    authorisedByWebhook: row.authorisedByWebhook,
    detailsSubmittedAt: row.detailsSubmittedAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** What the rules decided to write (SignalEffect "apply"). */
export type AppliedEffect = Extract<SignalEffect, { kind: "apply" }>;

/** What recordSignal returns once an effect is written: the row as the update left it, and the change to publish. */
export function recordedOf(before: Payment, { update, event, anomaly }: AppliedEffect, now: Date): RecordedSignal {
  const payment = update ? { ...before, ...update, updatedAt: now } : before;
  return { payment, change: event ? { payment: payment as VisiblePayment, event } : null, anomaly };
}

export function toEvent(row: typeof paymentEvents.$inferSelect): PaymentEvent {
  return {
    paymentId: row.paymentId as PaymentId,
    version: row.version,
    status: row.status as PaymentStatus,
    previousStatus: row.previousStatus as PaymentStatus | null,
    source: row.source as EventSource,
    eventCode: row.eventCode,
    resultCode: row.resultCode,
    refundId: row.refundId as RefundId | null,
    refundStatus: row.refundStatus as RefundStatus | null,
    occurredAt: row.occurredAt,
  };
}

export function toNotification(row: typeof notificationInbox.$inferSelect): StoredNotification {
  const item = JSON.parse(row.raw) as {
    amount?: { value: number; currency: string };
    reason?: string;
    additionalData?: Record<string, string>;
  };
  return {
    id: row.id,
    eventCode: row.eventCode,
    success: row.success,
    pspReference: row.pspReference,
    originalReference: row.originalReference,
    merchantReference: row.merchantReference,
    merchantAccountCode: row.merchantAccountCode,
    amount: item.amount ?? null,
    reason: item.reason ?? null,
    additionalData: item.additionalData ?? {},
    raw: row.raw,
    receivedAt: row.receivedAt,
    appliedAt: row.appliedAt,
  };
}

export function toRefund(row: typeof refunds.$inferSelect): Refund {
  return {
    id: row.id as RefundId,
    paymentId: row.paymentId as PaymentId,
    amount: { value: row.amountValue, currency: row.currency },
    reference: row.reference,
    status: row.status as RefundStatus,
    reason: row.reason,
    pspReference: row.pspReference as PspReference | null,
    source: row.source as RefundSource,
    nextSendAt: row.nextSendAt,
    sendAttempts: row.sendAttempts,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export function toMethod(row: typeof storedPaymentMethods.$inferSelect): StoredPaymentMethod {
  return {
    id: row.id as StoredPaymentMethodId,
    owner: row.owner as ApiKeyName,
    shopperReference: row.shopperReference,
    type: row.type,
    originalPaymentId: row.originalPaymentId as PaymentId | null,
    active: row.active,
    createdAt: row.createdAt,
  };
}

/**
 * A new refund's row, the same in both stores: asked through the gateway (PENDING, with its first send due) or made
 * elsewhere and learnt from its REFUND webhook (SUCCEEDED, with Adyen's pspReference).
 */
export function newRefundRow(
  refund: { id: RefundId; paymentId: PaymentId; amount: Amount; reference: string } & (
    | { status: "PENDING"; source: typeof EventSource.API; nextSendAt: Date }
    | { status: "SUCCEEDED"; source: typeof EventSource.WEBHOOK; pspReference: PspReference }
  ),
  now: Date,
) {
  return {
    id: refund.id,
    paymentId: refund.paymentId,
    amountValue: refund.amount.value,
    currency: refund.amount.currency,
    reference: refund.reference,
    status: refund.status,
    source: refund.source,
    pspReference: "pspReference" in refund ? refund.pspReference : null,
    nextSendAt: "nextSendAt" in refund ? refund.nextSendAt : null,
    createdAt: now,
    updatedAt: now,
  };
}
