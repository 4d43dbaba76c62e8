import { newRefundId, type PspReference, type StoredPaymentMethodId } from "./ids.js";
import { type Notification, NotificationOutcome, type StoredNotification } from "./notification.js";
import type { Logger } from "./logger.js";
import { KAKAOPAY } from "./payment.js";
import type { NotificationInbox, PaymentStore, RefundStore, StatusEvents, StoredPaymentMethodStore } from "./ports.js";
import { isRefundEventCode, type RefundEventCode } from "./refund.js";
import { EventSource } from "./status.js";
import { type PaymentTelemetry, WebhookItemOutcome } from "./telemetry.js";
import type { PaymentSignal } from "./transitions.js";

export interface WebhookDeps {
  store: PaymentStore;
  tokens: StoredPaymentMethodStore;
  refunds: RefundStore;
  inbox: NotificationInbox;
  events: StatusEvents;
  /** Items for any other merchant account are stored and acknowledged, never applied. */
  merchantAccount: string;
  /** Counts the anomalies an operator must look at. */
  telemetry: PaymentTelemetry;
  logger: Logger;
}

/** Adyen's webhooks: stored before they are acknowledged, then applied once through the status rules. */
export class PaymentWebhooks {
  /** Serialises applying per pspReference, so one payment's items apply in the order they were stored. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(private readonly deps: WebhookDeps) {}

  /** Stores the items durably; returns those not seen before, to apply once acknowledged. */
  async receive(notifications: Notification[]): Promise<StoredNotification[]> {
    const saved = await this.deps.inbox.save(notifications);
    saved.forEach((s, i) => {
      if (s.duplicate) this.deps.telemetry.webhookItem(notifications[i]!.eventCode, WebhookItemOutcome.DUPLICATE);
    });
    const receivedAt = new Date();
    return saved.flatMap((s, i) => (s.duplicate ? [] : [{ ...notifications[i]!, id: s.id, receivedAt, appliedAt: null }]));
  }

  /** Applies freshly stored items; failures are logged and the item stays unapplied for the next sweep. */
  async apply(items: readonly StoredNotification[]): Promise<void> {
    for (const item of items) await this.applyItem(item);
  }

  /** Applies everything not applied yet: at start (after a crash) and when a payment's pspReference is learnt. */
  async applyUnapplied(pspReference?: string): Promise<void> {
    for (const item of await this.deps.inbox.unapplied(pspReference)) await this.applyItem(item);
  }

  /** Resolves once every item being applied now is done: for a graceful shutdown. */
  async idle(): Promise<void> {
    while (this.queues.size > 0) await Promise.all(this.queues.values());
  }

  private applyItem(item: StoredNotification): Promise<void> {
    const key = item.pspReference;
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(() =>
      this.applyOne(item).then(
        (outcome) => this.deps.telemetry.webhookItem(item.eventCode, outcome),
        (error: unknown) => {
          this.deps.logger.error({ ...itemFields(item), err: error }, "webhook item not applied yet: the next sweep retries it");
        },
      ),
    );
    this.queues.set(key, next);
    return next.finally(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
  }

  private async applyOne(item: StoredNotification): Promise<WebhookItemOutcome> {
    if (item.merchantAccountCode !== this.deps.merchantAccount) {
      await this.deps.inbox.settle(item.id, NotificationOutcome.OTHER_MERCHANT_ACCOUNT);
      return WebhookItemOutcome.OTHER_MERCHANT;
    }
    if (item.eventCode === "RECURRING_CONTRACT") return this.applyRecurringContract(item);
    if (isRefundEventCode(item.eventCode)) return this.applyRefund(item, item.eventCode);
    const signal = signalOf(item);
    if (!signal) {
      await this.deps.inbox.settle(item.id, NotificationOutcome.UNHANDLED_EVENT);
      return WebhookItemOutcome.UNHANDLED;
    }
    const payment = await this.deps.store.findPaymentFor(item);
    // Not ours yet: it stays in the inbox and is applied when the payment's pspReference is recorded.
    if (!payment) return WebhookItemOutcome.WAITING;
    const recorded = await this.deps.store.recordSignal(
      payment.id,
      signal,
      { pspReference: item.pspReference as PspReference },
      { notificationId: item.id },
    );
    if (!recorded.change) return WebhookItemOutcome.NO_CHANGE;
    this.deps.events.publish(recorded.change);
    return WebhookItemOutcome.APPLIED;
  }

  /**
   * REFUND, REFUND_FAILED, REFUNDED_REVERSED: `pspReference` is the refund's, `originalReference` the payment's. A
   * REFUND for a known payment that matches no refund of ours was made elsewhere (the Customer Area) and is recorded,
   * so that refundedAmount stays true. An item about a payment we do not know yet stays in the inbox.
   */
  private async applyRefund(item: StoredNotification, eventCode: RefundEventCode): Promise<WebhookItemOutcome> {
    const pspReference = item.pspReference as PspReference;
    const refund = await this.deps.refunds.findRefundFor({
      pspReference,
      paymentPspReference: item.originalReference,
      merchantReference: item.merchantReference,
    });
    const settles = { notificationId: item.id };
    if (refund) {
      const signal = { kind: "WEBHOOK" as const, eventCode, success: item.success, reason: item.reason, pspReference };
      const recorded = await this.deps.refunds.recordRefundSignal(refund.id, signal, settles);
      if (!recorded.change) return WebhookItemOutcome.NO_CHANGE;
      this.deps.events.publish(recorded.change);
      return WebhookItemOutcome.APPLIED;
    }
    const payment = item.originalReference ? await this.deps.store.getPaymentByPspReference(item.originalReference) : null;
    if (!payment) return WebhookItemOutcome.WAITING;
    const waiting = (await this.deps.refunds.listRefunds(payment.id)).some(
      (r) => r.pspReference === null && r.reference === item.merchantReference,
    );
    // Ours, but ambiguous until Adyen's answer names it: applied once its pspReference is stored.
    if (waiting) return WebhookItemOutcome.WAITING;
    if (eventCode !== "REFUND" || !item.success || !item.amount) {
      this.deps.logger.warn(
        { ...itemFields(item), paymentId: payment.id },
        "refund webhook names a refund unknown for this payment: nothing to change",
      );
      await this.deps.inbox.settle(item.id, NotificationOutcome.NO_CHANGE);
      return WebhookItemOutcome.NO_CHANGE;
    }
    const recorded = await this.deps.refunds.recordExternalRefund(
      payment.id,
      { id: newRefundId(), amount: item.amount, reference: item.merchantReference, pspReference },
      settles,
    );
    if (!recorded.change) return WebhookItemOutcome.NO_CHANGE;
    this.deps.events.publish(recorded.change);
    return WebhookItemOutcome.APPLIED;
  }

  /**
   * RECURRING_CONTRACT: `pspReference` is the new token, `originalReference` the payment that created it. The token
   * belongs to that payment's API key; it may arrive before or after the payment's AUTHORISATION.
   */
  private async applyRecurringContract(item: StoredNotification): Promise<WebhookItemOutcome> {
    if (!item.success) {
      await this.deps.inbox.settle(item.id, NotificationOutcome.NO_CHANGE);
      return WebhookItemOutcome.NO_CHANGE;
    }
    const payment = await this.deps.store.findPaymentFor({
      pspReference: item.originalReference,
      merchantReference: item.merchantReference,
      amount: item.amount,
    });
    if (!payment) return WebhookItemOutcome.WAITING;
    const shopperReference =
      item.additionalData["recurring.shopperReference"] ?? item.additionalData["shopperReference"] ?? payment.shopperReference;
    if (!shopperReference || (payment.shopperReference !== null && payment.shopperReference !== shopperReference)) {
      this.deps.logger.warn({ ...itemFields(item), paymentId: payment.id }, "RECURRING_CONTRACT names another shopper: token not recorded");
      await this.deps.inbox.settle(item.id, NotificationOutcome.NO_CHANGE);
      return WebhookItemOutcome.NO_CHANGE;
    }
    await this.deps.tokens.recordToken(
      {
        id: item.pspReference as StoredPaymentMethodId,
        owner: payment.owner,
        shopperReference,
        type: KAKAOPAY,
        originalPaymentId: payment.id,
      },
      { notificationId: item.id },
    );
    return WebhookItemOutcome.APPLIED;
  }
}

/** The ids every log line about one webhook item carries. */
function itemFields(item: StoredNotification) {
  return { operation: "webhookApply", notificationId: item.id, eventCode: item.eventCode, pspReference: item.pspReference };
}

function signalOf(item: StoredNotification): PaymentSignal | null {
  switch (item.eventCode) {
    case "AUTHORISATION":
      return { source: EventSource.WEBHOOK, eventCode: "AUTHORISATION", success: item.success, reason: item.reason };
    case "OFFER_CLOSED":
      return item.success ? { source: EventSource.WEBHOOK, eventCode: "OFFER_CLOSED" } : null;
    default:
      return null;
  }
}
