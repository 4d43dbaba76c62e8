import { EventSource, isFinal, PaymentStatus, statusForResultCode } from "./status.js";

/**
 * What we learnt about a payment. `API` is Adyen's answer to /payments, `REDIRECT` its answer to
 * /payments/details, `WEBHOOK` a notification item.
 */
export type PaymentSignal =
  | { source: typeof EventSource.API | typeof EventSource.REDIRECT; resultCode: string; refusalReason?: string | null }
  | { source: typeof EventSource.WEBHOOK; eventCode: "AUTHORISATION"; success: boolean; reason?: string | null }
  | { source: typeof EventSource.WEBHOOK; eventCode: "OFFER_CLOSED" };

/** The part of a payment the rules read. `status` is null while Adyen has not yet answered /payments. */
export interface PaymentState {
  status: PaymentStatus | null;
  refusalReason: string | null;
}

/** A status change the rules decided on; `resultCode` is set when the signal carried one. */
export interface StatusTransition {
  status: PaymentStatus;
  refusalReason: string | null;
  resultCode: string | null;
}

/**
 * The status rules of docs/contract.md, and the only place that decides a status: old state + signal ->
 * the new state, or null for "no change".
 */
export function decideTransition(state: PaymentState, signal: PaymentSignal): StatusTransition | null {
  const current = state.status;
  const settled = current !== null && isFinal(current);

  if (signal.source !== EventSource.WEBHOOK) {
    // The shopper's return (or a retried /payments) often arrives after the webhook settled the payment.
    if (settled) return null;
    const status = statusForResultCode(signal.resultCode);
    if (status === current) return null;
    return { status, refusalReason: signal.refusalReason ?? null, resultCode: signal.resultCode };
  }

  if (signal.eventCode === "AUTHORISATION") {
    if (signal.success) {
      // The final word on money: it overrides any other outcome, so the merchant can reconcile.
      if (current === PaymentStatus.AUTHORISED) return null;
      return { status: PaymentStatus.AUTHORISED, refusalReason: null, resultCode: null };
    }
    if (settled) return null;
    return { status: PaymentStatus.REFUSED, refusalReason: signal.reason ?? null, resultCode: null };
  }

  // OFFER_CLOSED: the shopper never finished. A payment Adyen created but whose /payments answer we
  // have not recorded yet (status null) was offered too, so it expires as well.
  if (settled) return null;
  return { status: PaymentStatus.EXPIRED, refusalReason: state.refusalReason, resultCode: null };
}
