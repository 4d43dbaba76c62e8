import { canonicalHash } from "./canonical-json.js";
import { ErrorCode, GatewayError, notFound } from "./errors.js";
import { type ApiKeyName, newRefundId, type PaymentId, type RefundId } from "./ids.js";
import { checkAmount, checkIdempotencyKey, checkReference, checkText } from "./input.js";
import { type Amount, isVisible, type Payment } from "./payment.js";
import type { Logger } from "./logger.js";
import type { IdempotencyClaim, PaymentProvider, PaymentStore, RefundStore, StatusEvents } from "./ports.js";
import { planRefund, type Refund } from "./refund.js";

export interface RefundDeps {
  store: PaymentStore;
  refunds: RefundStore;
  provider: PaymentProvider;
  events: StatusEvents;
  /** Refund webhooks that arrived before Adyen's answer to the request was stored wait for its pspReference. */
  webhooks: { applyUnapplied(pspReference: string): Promise<unknown> };
  logger: Logger;
  /** How long the first send may take before the re-sender takes over; also the first backoff. */
  resendAfterMs: number;
  /** The longest wait between two re-sends. */
  maxResendBackoffMs: number;
}

export interface RefundPaymentInput {
  paymentId: string;
  amount?: Amount | null;
  reference?: string | null;
  idempotencyKey?: string | null;
}

/** How many due refunds one pass of the re-sender takes. */
const RESEND_BATCH = 20;

/**
 * Refunds of AUTHORISED payments (docs/contract.md, Refund rules). The refund row is written PENDING, reserving its
 * amount, before Adyen is called; a request Adyen did not answer is re-sent by the gateway itself, with the same
 * Idempotency-Key, until Adyen answers.
 */
export class Refunds {
  constructor(private readonly deps: RefundDeps) {}

  async refundPayment(owner: ApiKeyName, input: RefundPaymentInput): Promise<Refund> {
    checkText(input.paymentId, "input.paymentId", 1, 64);
    if (input.amount != null) checkAmount(input.amount, "input.amount");
    if (input.reference != null) checkReference(input.reference, "input.reference");
    if (input.idempotencyKey != null) checkIdempotencyKey(input.idempotencyKey, "input.idempotencyKey");
    const payment = await this.deps.store.getPayment(input.paymentId as PaymentId);
    if (!payment || payment.owner !== owner || !isVisible(payment)) throw notFound("payment");

    const request = {
      paymentId: payment.id,
      amount: input.amount == null ? null : { value: input.amount.value, currency: input.amount.currency },
      reference: input.reference ?? null,
    };
    const claim: IdempotencyClaim | null =
      input.idempotencyKey == null
        ? null
        : { owner, key: input.idempotencyKey, operation: "refundPayment", requestHash: canonicalHash(request) };
    const created = await this.deps.refunds.createRefund(
      payment.id,
      (current, refunds) => planRefund(current, refunds, request),
      { id: newRefundId(), nextSendAt: new Date(Date.now() + this.deps.resendAfterMs) },
      claim,
    );
    if (created.kind === "conflict") {
      throw new GatewayError(ErrorCode.IDEMPOTENCY_CONFLICT, "idempotencyKey was already used with a different input", {
        field: "input.idempotencyKey",
      });
    }
    // A repeat gets the refund the first request made; the re-sender finishes it if Adyen has not answered yet.
    if (created.kind === "existing") return created.refund;
    this.deps.events.publish(created.change);
    return this.send(payment, created.refund, true);
  }

  listFor(paymentId: PaymentId): Promise<Refund[]> {
    return this.deps.refunds.listRefunds(paymentId);
  }

  get(id: RefundId): Promise<Refund | null> {
    return this.deps.refunds.getRefund(id);
  }

  /** One pass of the re-sender: every refund whose send is due goes to Adyen again, with the same Idempotency-Key. */
  async resendDue(now = new Date()): Promise<void> {
    // Held for as long as a first send waits for its answer; another instance takes the refund again after that.
    const leaseUntil = new Date(now.getTime() + this.deps.resendAfterMs);
    for (const refund of await this.deps.refunds.takeDueRefunds(now, RESEND_BATCH, leaseUntil)) {
      const payment = await this.deps.store.getPayment(refund.paymentId);
      if (!payment) continue;
      this.deps.logger.info(
        { operation: "refundResend", paymentId: payment.id, refundId: refund.id, attempt: refund.sendAttempts + 2 },
        "re-sending the refund to Adyen",
      );
      await this.send(payment, refund, false).catch(() => {
        // Logged and rescheduled by send(); the next pass tries again.
      });
    }
  }

  /**
   * Sends the refund to Adyen. Accepted: its pspReference is stored and waiting webhooks are applied. Rejected (4xx):
   * FAILED with Adyen's message, and PROVIDER_REJECTED. Unanswered (timeout, 5xx): it stays PENDING and is re-sent.
   */
  private async send(payment: Payment, refund: Refund, fromRequest: boolean): Promise<Refund> {
    try {
      const { pspReference } = await this.deps.provider.refundPayment(payment, refund, idempotencyKeyOf(refund.id));
      const recorded = await this.deps.refunds.recordRefundSignal(refund.id, { kind: "ACCEPTED", pspReference });
      if (recorded.change) this.deps.events.publish(recorded.change);
      await this.deps.webhooks.applyUnapplied(pspReference);
      return (await this.deps.refunds.getRefund(refund.id)) ?? recorded.refund;
    } catch (error) {
      if (error instanceof GatewayError && error.code === ErrorCode.PROVIDER_REJECTED) {
        const recorded = await this.deps.refunds.recordRefundSignal(refund.id, { kind: "REJECTED", reason: error.message });
        if (recorded.change) this.deps.events.publish(recorded.change);
        throw error;
      }
      const backoff = Math.min(this.deps.maxResendBackoffMs, this.deps.resendAfterMs * 2 ** refund.sendAttempts);
      await this.deps.refunds.scheduleResend(refund.id, new Date(Date.now() + backoff));
      const reason = error instanceof Error ? error.message : String(error);
      this.deps.logger.warn(
        {
          operation: "refundSend",
          paymentId: payment.id,
          pspReference: payment.pspReference,
          refundId: refund.id,
          reason,
          backoffMs: backoff,
        },
        "refund not answered by Adyen; re-sending later",
      );
      if (fromRequest && error instanceof GatewayError && error.code === ErrorCode.PROVIDER_UNAVAILABLE) {
        throw new GatewayError(
          ErrorCode.PROVIDER_UNAVAILABLE,
          `Adyen did not answer: refund ${refund.id} stays PENDING and the gateway re-sends it until Adyen answers`,
          error.details,
        );
      }
      throw error;
    }
  }
}

/** Adyen's Idempotency-Key of a refund: derived from its id, so every (re-)send is the same request to Adyen. */
function idempotencyKeyOf(id: RefundId): string {
  return `${id}:refund`;
}
