import { badInput, ErrorCode, GatewayError } from "./errors.js";
import type { PaymentId, PspReference, RefundId } from "./ids.js";
import type { Amount, Payment } from "./payment.js";
import { type EventSource, PaymentStatus } from "./status.js";

/** Where a refund stands (docs/contract.md, RefundStatus). FAILED and REVERSED are final. */
export const RefundStatus = {
  PENDING: "PENDING",
  SUCCEEDED: "SUCCEEDED",
  FAILED: "FAILED",
  REVERSED: "REVERSED",
} as const;
export type RefundStatus = (typeof RefundStatus)[keyof typeof RefundStatus];

/** API: asked through the gateway; WEBHOOK: made elsewhere (the Customer Area), learnt from Adyen. */
export type RefundSource = typeof EventSource.API | typeof EventSource.WEBHOOK;

export interface Refund {
  id: RefundId;
  paymentId: PaymentId;
  amount: Amount;
  /** The merchant's reference of this refund, sent to Adyen. */
  reference: string;
  status: RefundStatus;
  /** Why it FAILED. */
  reason: string | null;
  /** Adyen's pspReference of the refund (not the payment's); null until Adyen accepted the request. */
  pspReference: PspReference | null;
  source: RefundSource;
  /** Until Adyen answers an API refund: when the gateway sends it (again), and how often it tried. */
  nextSendAt: Date | null;
  sendAttempts: number;
  createdAt: Date;
  updatedAt: Date;
}

/** What we learnt about a refund: Adyen's answer to the request, or one of its refund webhooks. */
export type RefundSignal =
  | { kind: "ACCEPTED"; pspReference: PspReference }
  | { kind: "REJECTED"; reason: string }
  | { kind: "WEBHOOK"; eventCode: RefundEventCode; success: boolean; reason: string | null; pspReference: PspReference };

export const REFUND_EVENT_CODES = ["REFUND", "REFUND_FAILED", "REFUNDED_REVERSED"] as const;
export type RefundEventCode = (typeof REFUND_EVENT_CODES)[number];

export function isRefundEventCode(eventCode: string): eventCode is RefundEventCode {
  return (REFUND_EVENT_CODES as readonly string[]).includes(eventCode);
}

export interface RefundTransition {
  status: RefundStatus;
  reason: string | null;
}

/**
 * The refund rules of docs/contract.md, and the only place that decides a refund's status: old status + signal ->
 * the new status, or null for "no change". (Adyen's acceptance carries no status: the REFUND webhook decides.)
 */
export function decideRefundTransition(status: RefundStatus, signal: RefundSignal): RefundTransition | null {
  if (status === RefundStatus.FAILED || status === RefundStatus.REVERSED) return null;
  switch (signal.kind) {
    case "ACCEPTED":
      return null;
    case "REJECTED":
      return status === RefundStatus.PENDING ? { status: RefundStatus.FAILED, reason: signal.reason } : null;
    case "WEBHOOK":
      switch (signal.eventCode) {
        case "REFUND":
          if (status !== RefundStatus.PENDING) return null;
          return signal.success
            ? { status: RefundStatus.SUCCEEDED, reason: null }
            : { status: RefundStatus.FAILED, reason: signal.reason ?? "Adyen declined the refund" };
        case "REFUND_FAILED":
          // Arrives with success=true: the eventCode alone says the refund failed, also after it succeeded.
          return { status: RefundStatus.FAILED, reason: signal.reason ?? "Adyen reported the refund failed" };
        case "REFUNDED_REVERSED":
          return { status: RefundStatus.REVERSED, reason: null };
      }
  }
}

/** Sum of SUCCEEDED refunds: a REVERSED refund's money came back, a FAILED one never left. */
export function refundedValue(refunds: readonly Refund[]): number {
  return refunds.reduce((sum, refund) => (refund.status === RefundStatus.SUCCEEDED ? sum + refund.amount.value : sum), 0);
}

/** AUTHORISED: the amount less SUCCEEDED and PENDING refunds (a PENDING refund reserves its amount); otherwise 0. */
export function refundableValue(payment: Pick<Payment, "status" | "amount">, refunds: readonly Refund[]): number {
  if (payment.status !== PaymentStatus.AUTHORISED) return 0;
  const reserved = refunds.reduce(
    (sum, refund) => (refund.status === RefundStatus.SUCCEEDED || refund.status === RefundStatus.PENDING ? sum + refund.amount.value : sum),
    0,
  );
  return Math.max(0, payment.amount.value - reserved);
}

/** Adyen's limit on a refund's reference. */
const MAX_REFERENCE_LENGTH = 80;

/**
 * Decides a new refund against the payment as it is inside the transaction that writes it, so concurrent refunds
 * serialise here and never add up to more than was paid. `amount` null = the whole refundable amount.
 */
export function planRefund(
  payment: Pick<Payment, "status" | "amount" | "reference">,
  refunds: readonly Refund[],
  request: { amount: Amount | null; reference: string | null },
): { amount: Amount; reference: string } {
  if (payment.status !== PaymentStatus.AUTHORISED) {
    throw new GatewayError(ErrorCode.INVALID_STATE, `only an AUTHORISED payment can be refunded (this one is ${payment.status})`);
  }
  const refundable = refundableValue(payment, refunds);
  const amount = request.amount ?? { value: refundable, currency: payment.amount.currency };
  if (amount.currency !== payment.amount.currency) {
    throw badInput("input.amount", `a refund is in the payment's currency, ${payment.amount.currency}`);
  }
  if (amount.value <= 0) throw badInput("input.amount", "nothing is left to refund");
  if (amount.value > refundable) {
    throw badInput("input.amount", `at most ${refundable} ${payment.amount.currency} can be refunded`);
  }
  const suffix = `-R${refunds.length + 1}`;
  const reference = request.reference ?? `${payment.reference.slice(0, MAX_REFERENCE_LENGTH - suffix.length)}${suffix}`;
  return { amount, reference };
}
