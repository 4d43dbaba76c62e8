import type { Scheduler } from "./scheduler.js";
import {
  newPspReference,
  newRedirectResult,
  type Ledger,
  type PaymentStatus,
  type RedirectSession,
  type ShopperOutcome,
  type SimulatedPayment,
  type SimulatedRefund,
  type StoredPaymentMethod,
} from "./state.js";
import {
  authorisationItem,
  offerClosedItem,
  recurringContractItem,
  refundItem,
  type NotificationItem,
  type WebhookSender,
} from "./webhooks.js";
import type { Logger } from "../payments/logger.js";

export interface Timings {
  webhookDelayMs: number;
  pendingDelayMs: number;
  offerTtlMs: number;
}

/** What /payments/details answers for each choice, with Adyen's refusal reasons and codes. */
export const OUTCOME_RESULTS: Readonly<
  Record<ShopperOutcome, { resultCode: PaymentStatus; refusalReason?: string; refusalReasonCode?: string }>
> = {
  authorised: { resultCode: "Authorised" },
  refused: { resultCode: "Refused", refusalReason: "Refused", refusalReasonCode: "2" },
  cancelled: { resultCode: "Cancelled", refusalReason: "Cancelled", refusalReasonCode: "15" },
  error: { resultCode: "Error", refusalReason: "Acquirer Error", refusalReasonCode: "4" },
  pending: { resultCode: "Pending" },
};

/**
 * What happens to a payment after the API call that created it: the offer TTL, the shopper's choice on the
 * hosted page, and the webhooks that follow each of them.
 */
export class PaymentLifecycle {
  constructor(
    private readonly deps: {
      ledger: Ledger;
      scheduler: Scheduler;
      webhooks: WebhookSender;
      timings: Timings;
      merchantAccount: string;
      logger: Logger;
    },
  ) {}

  /** Starts the offer TTL of a new redirect payment: without a choice in time it expires with OFFER_CLOSED. */
  openSession(payment: SimulatedPayment, session: RedirectSession): void {
    session.cancelExpiry = this.deps.scheduler.schedule(this.deps.timings.offerTtlMs, () => {
      this.expire(payment);
    });
  }

  /**
   * Records the shopper's choice on an open session and schedules its AUTHORISATION webhook (and RECURRING_CONTRACT
   * when a method was stored). Returns the redirectResult that the shopper carries back to the returnUrl.
   */
  chooseOutcome(payment: SimulatedPayment, session: RedirectSession, outcome: ShopperOutcome): string {
    session.cancelExpiry?.();
    session.outcome = outcome;
    session.redirectResult = newRedirectResult();
    this.deps.ledger.recordRedirectResult(payment, session.redirectResult);
    const result = OUTCOME_RESULTS[outcome];
    payment.status = result.resultCode;
    this.deps.logger.info({ pspReference: payment.pspReference, outcome }, "shopper chose an outcome");

    const { scheduler, timings, webhooks } = this.deps;
    switch (outcome) {
      case "authorised": {
        const token = this.storeMethodIfAsked(payment);
        scheduler.schedule(timings.webhookDelayMs, () => webhooks.release(this.authorisedItems(payment, token)));
        break;
      }
      case "pending":
        // KakaoPay confirms later: the payment is authorised when the delayed AUTHORISATION goes out.
        scheduler.schedule(timings.pendingDelayMs, () => {
          payment.status = "Authorised";
          webhooks.release(this.authorisedItems(payment, this.storeMethodIfAsked(payment)));
        });
        break;
      case "refused":
      case "cancelled":
      case "error": {
        const reason = result.refusalReason === undefined ? {} : { reason: result.refusalReason };
        scheduler.schedule(timings.webhookDelayMs, () =>
          webhooks.release([authorisationItem(payment, this.deps.merchantAccount, { success: false, ...reason })]),
        );
        break;
      }
    }
    return session.redirectResult;
  }

  /** Closes a session the shopper never completed and sends OFFER_CLOSED at once; false if it was not open. */
  expire(payment: SimulatedPayment): boolean {
    if (payment.status !== "RedirectShopper") return false;
    payment.session?.cancelExpiry?.();
    payment.status = "Expired";
    this.deps.logger.info({ pspReference: payment.pspReference }, "session expired");
    this.deps.webhooks.release([offerClosedItem(payment, this.deps.merchantAccount)]);
    return true;
  }

  /** A token charge is authorised in the API answer; its AUTHORISATION webhook follows after the usual delay. */
  confirmTokenCharge(payment: SimulatedPayment): void {
    this.deps.scheduler.schedule(this.deps.timings.webhookDelayMs, () =>
      this.deps.webhooks.release([authorisationItem(payment, this.deps.merchantAccount, { success: true })]),
    );
  }

  /**
   * A refund's webhooks, one delay after the request and each a delay after the one before. The reference decides
   * the story (docs/contract.md, The simulator): FAIL… is declined, LATEFAIL… fails after succeeding, REVERSE… comes back.
   */
  confirmRefund(refund: SimulatedRefund): void {
    const { scheduler, timings, webhooks, merchantAccount } = this.deps;
    const send = (delayMs: number, item: () => NotificationItem) => scheduler.schedule(delayMs, () => webhooks.release([item()]));
    if (refund.reference.startsWith("FAIL")) {
      send(timings.webhookDelayMs, () => {
        refund.counts = false;
        return refundItem(refund, merchantAccount, "REFUND", { success: false, reason: "Insufficient balance on payment" });
      });
      return;
    }
    const followUp = refund.reference.startsWith("LATEFAIL")
      ? () => refundItem(refund, merchantAccount, "REFUND_FAILED", { success: true, reason: "Refund failed at the acquirer" })
      : refund.reference.startsWith("REVERSE")
        ? () => refundItem(refund, merchantAccount, "REFUNDED_REVERSED", { success: true })
        : undefined;
    scheduler.schedule(timings.webhookDelayMs, () => {
      const delivered = webhooks.release([refundItem(refund, merchantAccount, "REFUND", { success: true })]);
      if (followUp === undefined) return;
      // One delay after the REFUND's delivery, never before it (Adyen's follow-ups come days later): two timers
      // racing on a loaded machine could deliver them the other way round.
      scheduler.track(
        delivered.then(() => {
          send(timings.webhookDelayMs, () => {
            refund.counts = false;
            return followUp();
          });
        }),
      );
    });
  }

  private storeMethodIfAsked(payment: SimulatedPayment): StoredPaymentMethod | undefined {
    if (!payment.storePaymentMethod || payment.shopperReference === undefined) return undefined;
    const token: StoredPaymentMethod = {
      id: newPspReference(),
      shopperReference: payment.shopperReference,
      firstPspReference: payment.pspReference,
      createdAt: new Date(),
      active: true,
    };
    this.deps.ledger.addStoredPaymentMethod(token);
    payment.storedPaymentMethodId = token.id;
    return token;
  }

  private authorisedItems(payment: SimulatedPayment, token: StoredPaymentMethod | undefined): NotificationItem[] {
    const authorisation = authorisationItem(payment, this.deps.merchantAccount, { success: true });
    if (token === undefined) return [authorisation];
    return [authorisation, recurringContractItem(payment, token, this.deps.merchantAccount)];
  }
}
