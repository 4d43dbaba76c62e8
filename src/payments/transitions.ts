import type { Amount } from "./payment.js";
import { EventSource, isFinal, PaymentStatus, statusForResultCode } from "./status.js";
import { WebhookAnomaly } from "./telemetry.js";

/**
 * What we learnt about a payment. `API` is Adyen's answer to /payments, `REDIRECT` its answer to
 * /payments/details, `WEBHOOK` a notification item (`amount` null when the item carried none).
 */
export type PaymentSignal =
  | { source: typeof EventSource.API | typeof EventSource.REDIRECT; resultCode: string; refusalReason?: string | null }
  | { source: typeof EventSource.WEBHOOK; eventCode: "AUTHORISATION"; success: boolean; reason?: string | null; amount: Amount | null }
  | { source: typeof EventSource.WEBHOOK; eventCode: "OFFER_CLOSED" };

/** The part of a payment the rules read. `status` is null while Adyen has not yet answered /payments. */
export interface PaymentState {
  status: PaymentStatus | null;
  refusalReason: string | null;
  resultCode: string | null;
  amount: Amount;
  /** An AUTHORISATION success=true was applied: Adyen's final word, which no later signal un-authorises. */
  authorisedByWebhook: boolean;
  /** Adyen answered the shopper's details: they are sent once per payment. */
  detailsSubmitted: boolean;
}

/**
 * The payment's facts after a signal. A PaymentEvent is recorded exactly when `status` differs from before; the other
 * fields are stored either way. `anomaly` is a contradiction that must be logged as an error and counted.
 */
export interface PaymentDecision extends Omit<PaymentState, "amount"> {
  anomaly: WebhookAnomaly | null;
}

const REFINES_WEBHOOK_REFUSAL: ReadonlySet<PaymentStatus> = new Set([PaymentStatus.REFUSED, PaymentStatus.CANCELLED, PaymentStatus.ERROR]);

/** The status rules of docs/contract.md, and the only place that decides a status: old state + signal -> new facts. */
export function decideTransition(state: PaymentState, signal: PaymentSignal): PaymentDecision {
  const keep: PaymentDecision = {
    status: state.status,
    refusalReason: state.refusalReason,
    resultCode: state.resultCode,
    authorisedByWebhook: state.authorisedByWebhook,
    detailsSubmitted: state.detailsSubmitted,
    anomaly: null,
  };
  const current = state.status;
  const settled = current !== null && isFinal(current);

  if (signal.source !== EventSource.WEBHOOK) return decideAnswer(state, keep, signal);

  if (signal.eventCode === "AUTHORISATION") {
    // Money must not be marked paid (or refused) for another amount; an item without one cannot be checked.
    if (signal.amount === null || signal.amount.value !== state.amount.value || signal.amount.currency !== state.amount.currency) {
      return { ...keep, anomaly: WebhookAnomaly.AMOUNT_MISMATCH };
    }
    if (signal.success) {
      // The final word on money: it overrides any other outcome, so the merchant can reconcile.
      const refusalReason = current === PaymentStatus.AUTHORISED ? state.refusalReason : null;
      return { ...keep, status: PaymentStatus.AUTHORISED, refusalReason, authorisedByWebhook: true };
    }
    if (current === PaymentStatus.AUTHORISED) {
      // Adyen's word overrides a synchronous Authorised, never its own success=true: that one stays, flagged.
      if (state.authorisedByWebhook) return { ...keep, anomaly: WebhookAnomaly.REFUSED_AFTER_AUTHORISED };
      return {
        ...keep,
        status: PaymentStatus.REFUSED,
        refusalReason: signal.reason ?? null,
        anomaly: WebhookAnomaly.REFUSED_AFTER_AUTHORISED,
      };
    }
    if (settled) return keep;
    return { ...keep, status: PaymentStatus.REFUSED, refusalReason: signal.reason ?? null };
  }

  // OFFER_CLOSED: the shopper never finished. A payment Adyen created but whose /payments answer we
  // have not recorded yet (status null) was offered too, so it expires as well.
  if (settled) return keep;
  return { ...keep, status: PaymentStatus.EXPIRED };
}

/** Adyen's answer to /payments (API) or to the shopper's details (REDIRECT). */
function decideAnswer(state: PaymentState, keep: PaymentDecision, signal: Extract<PaymentSignal, { resultCode: string }>): PaymentDecision {
  const current = state.status;
  const settled = current !== null && isFinal(current);
  if (signal.source === EventSource.API) {
    // A webhook may have settled the payment before Adyen's answer to /payments was recorded.
    if (settled) return { ...keep, resultCode: signal.resultCode };
    return moveTo(keep, statusForResultCode(signal.resultCode), signal.refusalReason ?? null, signal.resultCode);
  }

  if (state.detailsSubmitted) return keep;
  const answered: PaymentDecision = { ...keep, resultCode: signal.resultCode, detailsSubmitted: true };
  const outcome = statusForResultCode(signal.resultCode);
  if (!settled) return moveTo(answered, outcome, signal.refusalReason ?? null, signal.resultCode);
  // The webhook won the race: the shopper's failed outcome says why Adyen refused, so the order does not matter.
  if (current === PaymentStatus.REFUSED && REFINES_WEBHOOK_REFUSAL.has(outcome)) {
    return { ...answered, status: outcome, refusalReason: signal.refusalReason ?? state.refusalReason };
  }
  return answered;
}

function moveTo(decision: PaymentDecision, status: PaymentStatus, refusalReason: string | null, resultCode: string): PaymentDecision {
  if (status === decision.status) return { ...decision, resultCode };
  return { ...decision, status, refusalReason, resultCode };
}
