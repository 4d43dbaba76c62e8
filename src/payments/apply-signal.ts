import type { Payment, PaymentEvent } from "./payment.js";
import type { ProviderFacts } from "./ports.js";
import type { Refund, RefundSignal } from "./refund.js";
import { decideRefundTransition } from "./refund.js";
import { EventSource, type PaymentStatus } from "./status.js";
import type { WebhookAnomaly } from "./telemetry.js";
import { decideTransition, type PaymentSignal } from "./transitions.js";

/** The payment's columns a signal may change; the store writes them only if the version is still `before.version`. */
export type PaymentUpdate = Pick<
  Payment,
  "pspReference" | "action" | "status" | "refusalReason" | "resultCode" | "authorisedByWebhook" | "detailsSubmittedAt" | "version"
>;

/**
 * What a store writes for a signal, in one transaction with the inbox item it settles (docs/stack.md #16: the
 * decision is here, so each store only loads for update, asks, and writes).
 * - `foreign`: the webhook is not about this payment; nothing is written and its inbox item stays unapplied.
 * - `apply`: the item (if any) is settled; `update` and `event` are written when not null.
 */
export type SignalEffect =
  | { kind: "foreign" }
  | { kind: "apply"; update: PaymentUpdate | null; event: PaymentEvent | null; anomaly: WebhookAnomaly | null };

/** Payment + signal + facts -> the change to write, or none. Pure: `now` stamps what it writes. */
export function applyPaymentSignal(
  before: Payment,
  signal: PaymentSignal,
  facts: ProviderFacts,
  now: Date,
  settling: boolean,
): SignalEffect {
  // A webhook found by merchant reference whose payment meanwhile got another pspReference is not about it.
  if (settling && facts.pspReference && before.pspReference && facts.pspReference !== before.pspReference) return { kind: "foreign" };
  const decision = decideTransition({ ...before, detailsSubmitted: before.detailsSubmittedAt !== null }, signal);
  const statusChanged = decision.status !== before.status;
  const detailsAnswered = decision.detailsSubmitted && before.detailsSubmittedAt === null;
  const pspReference = before.pspReference ?? facts.pspReference ?? null;
  // Adyen's action belongs to the answer that moved the payment (e.g. details clear the redirect).
  const action = (statusChanged || detailsAnswered) && facts.action !== undefined ? facts.action : before.action;
  const unchanged =
    !statusChanged &&
    !detailsAnswered &&
    decision.refusalReason === before.refusalReason &&
    decision.resultCode === before.resultCode &&
    decision.authorisedByWebhook === before.authorisedByWebhook &&
    pspReference === before.pspReference &&
    action === before.action;
  if (unchanged) return { kind: "apply", update: null, event: null, anomaly: decision.anomaly };
  const version = statusChanged ? before.version + 1 : before.version;
  const update: PaymentUpdate = {
    pspReference,
    action,
    status: decision.status,
    refusalReason: decision.refusalReason,
    resultCode: decision.resultCode,
    authorisedByWebhook: decision.authorisedByWebhook,
    // Set once, never cleared.
    detailsSubmittedAt: before.detailsSubmittedAt ?? (detailsAnswered ? now : null),
    version,
  };
  const event: PaymentEvent | null =
    statusChanged && decision.status !== null
      ? {
          paymentId: before.id,
          version,
          status: decision.status,
          previousStatus: before.status,
          source: signal.source,
          eventCode: signal.source === EventSource.WEBHOOK ? signal.eventCode : null,
          resultCode: signal.source === EventSource.WEBHOOK ? null : signal.resultCode,
          refundId: null,
          refundStatus: null,
          occurredAt: now,
        }
      : null;
  return { kind: "apply", update, event, anomaly: decision.anomaly };
}

/** The refund's columns a signal changes; `changed` says whether its status moved (then it is a payment event). */
export interface RefundUpdate {
  status: Refund["status"];
  reason: string | null;
  pspReference: Refund["pspReference"];
  nextSendAt: Date | null;
  changed: boolean;
}

/** Refund + signal -> its new columns. */
export function applyRefundSignal(before: Refund, signal: RefundSignal): RefundUpdate {
  const transition = decideRefundTransition(before.status, signal);
  const pspReference = before.pspReference ?? (signal.kind === "REJECTED" ? null : signal.pspReference);
  // Adyen answered (accepted or rejected): the gateway stops sending it.
  const answered = signal.kind === "ACCEPTED" || signal.kind === "REJECTED" || pspReference !== null;
  return {
    status: transition?.status ?? before.status,
    reason: transition ? transition.reason : before.reason,
    pspReference,
    nextSendAt: answered ? null : before.nextSendAt,
    changed: transition !== null,
  };
}

/** A refund's change as the payment's next event: the version moves, the payment's status does not. */
export function refundEvent(payment: Payment, refund: Refund, source: EventSource, eventCode: string | null, now: Date): PaymentEvent {
  return {
    paymentId: payment.id,
    version: payment.version + 1,
    status: payment.status as PaymentStatus,
    previousStatus: payment.status,
    source,
    eventCode,
    resultCode: null,
    refundId: refund.id,
    refundStatus: refund.status,
    occurredAt: now,
  };
}
