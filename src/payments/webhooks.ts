import { newRefundId, type PspReference, type StoredPaymentMethodId } from "./ids.js";
import { type Notification, NotificationOutcome, type StoredNotification } from "./notification.js";
import type { Logger } from "./logger.js";
import { KAKAOPAY, type Payment } from "./payment.js";
import type { NotificationInbox, PaymentStore, RecordedSignal, RefundStore, StatusEvents, StoredPaymentMethodStore } from "./ports.js";
import { isRefundEventCode, type RefundEventCode } from "./refund.js";
import { EventSource } from "./status.js";
import { type PaymentTelemetry, WebhookAnomaly, WebhookItemOutcome } from "./telemetry.js";
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
  /** Overrides of DEFAULT_SWEEP (tests make them small). */
  sweep?: Partial<WebhookSweepOptions>;
}

/** How the inbox sweep retries items that are not applied yet (README, "Webhooks"). */
export interface WebhookSweepOptions {
  /** Pause between two sweeps. */
  intervalMs: number;
  /** Items read from the inbox at a time. */
  batchSize: number;
  /** Wait after an item's first unsuccessful sweep; it doubles with every further one... */
  backoffMs: number;
  /** ...up to this. */
  maxBackoffMs: number;
  /** An item about a payment we do not know is settled as unmatched once it is this old. */
  unmatchedAfterMs: number;
}

export const DEFAULT_SWEEP: WebhookSweepOptions = {
  intervalMs: 5_000,
  batchSize: 100,
  backoffMs: 1_000,
  maxBackoffMs: 5 * 60_000,
  unmatchedAfterMs: 24 * 60 * 60_000,
};

/** Adyen's webhooks: stored before they are acknowledged, then applied once through the status rules. */
export class PaymentWebhooks {
  /** Serialises applying per pspReference, so one payment's items apply in the order they were stored. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly options: WebhookSweepOptions;
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly deps: WebhookDeps) {
    this.options = { ...DEFAULT_SWEEP, ...deps.sweep };
  }

  /**
   * Stores the items durably; returns those not seen before that are left to apply once acknowledged. The one item a
   * request usually carries is applied in the same transaction when its payment is known (one write, not two).
   */
  async receive(notifications: Notification[]): Promise<StoredNotification[]> {
    const [only] = notifications;
    const signal = notifications.length === 1 && only ? this.signalToApplyAtOnce(only) : null;
    if (only && signal) {
      try {
        return await this.receiveSignal(only, signal);
      } catch {
        // Nothing of it was written: it is stored alone below and applied after the answer. A failure that lasts is
        // logged there once, by the save (the route's 500) or by the apply ("not applied yet").
      }
    }
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

  /** Applies the items waiting for a payment's pspReference, once it is learnt; false when none was waiting. */
  async applyUnapplied(pspReference: string): Promise<boolean> {
    const items = await this.deps.inbox.unapplied(pspReference);
    for (const item of items) await this.applyItem(item);
    return items.length > 0;
  }

  /**
   * One pass over the inbox, a page at a time: every item not applied yet whose backoff has passed is taken (deferred,
   * so that no other sweep, here or in another instance, takes it meanwhile) and applied.
   */
  async sweep(): Promise<void> {
    for (const id of await this.deps.store.expireOrphans()) {
      this.deps.logger.warn(
        { operation: "webhookSweep", paymentId: id },
        "its /payments call never succeeded within the session lifetime: payment expired",
      );
    }
    const now = new Date();
    let afterId = 0;
    for (;;) {
      const page = await this.deps.inbox.take(now, afterId, this.options.batchSize, this.options);
      if (page.length === 0) return;
      await Promise.all(page.map((item) => this.applyItem(item)));
      if (page.length < this.options.batchSize) return;
      afterId = page.at(-1)!.id;
    }
  }

  /** Sweeps now (what a crash left unapplied), then every intervalMs until stop(). */
  async startSweeping(): Promise<void> {
    this.stopped = false;
    await this.sweepOnce();
  }

  /** Stops the periodic sweep and waits for a running one: no timer is left behind. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  /** Resolves once every item being applied now is done: for a graceful shutdown. */
  async idle(): Promise<void> {
    while (this.queues.size > 0) await Promise.all(this.queues.values());
  }

  private async sweepOnce(): Promise<void> {
    this.sweeping = this.sweep().catch((error: unknown) => {
      this.deps.logger.error({ operation: "webhookSweep", err: error }, "webhook sweep failed");
    });
    await this.sweeping;
    this.sweeping = null;
    // The next sweep is scheduled after this one ends, so two never overlap.
    if (!this.stopped) this.timer = setTimeout(() => void this.sweepOnce(), this.options.intervalMs);
  }

  private applyItem(item: StoredNotification): Promise<void> {
    const key = item.pspReference;
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(() =>
      this.applyOne(item).then(
        (outcome) => this.deps.telemetry.webhookItem(item.eventCode, outcome),
        (error: unknown) => {
          // With the stack (under `err`): a webhook we cannot apply is an internal error the operator has to see.
          this.deps.logger.error({ ...itemFields(item), err: error }, "webhook item not applied yet: the next sweep retries it");
        },
      ),
    );
    this.queues.set(key, next);
    return next.finally(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
  }

  /** What became of the item (gateway_webhook_items_total). */
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
    if (!payment) return this.waitForPayment(item);
    const recorded = await this.deps.store.recordSignal(
      payment.id,
      signal,
      { pspReference: item.pspReference as PspReference },
      { notificationId: item.id },
    );
    return this.recorded(item, recorded);
  }

  /**
   * A payment signal the item carries, when it can be applied with its save: for our merchant account, and with no
   * item of its pspReference being applied here now (they apply in the order they were stored).
   */
  private signalToApplyAtOnce(item: Notification): PaymentSignal | null {
    if (item.merchantAccountCode !== this.deps.merchantAccount || this.queues.has(item.pspReference)) return null;
    return signalOf(item);
  }

  /** Stores the item and applies it in one transaction when a payment has its pspReference; else it is left to apply. */
  private async receiveSignal(notification: Notification, signal: PaymentSignal): Promise<StoredNotification[]> {
    const received = await this.deps.store.receiveSignal(notification, signal);
    if (received.duplicate) {
      this.deps.telemetry.webhookItem(notification.eventCode, WebhookItemOutcome.DUPLICATE);
      return [];
    }
    const item = { ...notification, id: received.id, receivedAt: new Date(), appliedAt: null };
    if (!received.recorded) return [item];
    this.deps.telemetry.webhookItem(item.eventCode, await this.recorded(item, received.recorded));
    return [];
  }

  /** Publishes what recording the item's signal committed and reports what it found; returns the item's outcome. */
  private async recorded(item: StoredNotification, recorded: RecordedSignal): Promise<WebhookItemOutcome> {
    const payment = recorded.payment;
    if (recorded.change) this.deps.events.publish(recorded.change);
    if (recorded.anomaly) this.reportAnomaly(recorded.anomaly, item, payment);
    // Found by merchant reference, but Adyen's answer gave the payment another pspReference meanwhile.
    else if (payment.pspReference !== null && payment.pspReference !== item.pspReference) {
      this.deps.logger.warn(
        { ...itemFields(item), paymentId: payment.id, paymentPspReference: payment.pspReference },
        "webhook's pspReference is not the payment's: not applied",
      );
      this.deps.telemetry.webhookAnomaly(WebhookAnomaly.PSP_REFERENCE_MISMATCH);
      await this.deps.inbox.settle(item.id, NotificationOutcome.PSP_REFERENCE_MISMATCH);
    }
    return recorded.change ? WebhookItemOutcome.APPLIED : WebhookItemOutcome.NO_CHANGE;
  }

  /** A contradiction between Adyen's item and what we know: stored, logged as an error and counted for operators. */
  private reportAnomaly(anomaly: WebhookAnomaly, item: StoredNotification, payment: Payment): void {
    this.deps.telemetry.webhookAnomaly(anomaly);
    const amount = (a: { value: number; currency: string } | null) => (a ? `${a.value} ${a.currency}` : "no amount");
    const detail =
      anomaly === WebhookAnomaly.AMOUNT_MISMATCH
        ? `is for ${amount(item.amount)}, the payment for ${amount(payment.amount)}: not applied`
        : `success=false after the payment was AUTHORISED${payment.authorisedByWebhook ? " by AUTHORISATION success=true: it stays AUTHORISED" : ": it is REFUSED"}`;
    this.deps.logger.error({ ...itemFields(item), paymentId: payment.id, anomaly }, `webhook anomaly (${anomaly}): ${detail}`);
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
    if (!payment) return this.waitForPayment(item);
    const waiting = (await this.deps.refunds.listRefunds(payment.id)).some(
      (r) => r.pspReference === null && r.reference === item.merchantReference,
    );
    // Ours, but ambiguous until Adyen's answer names it: applied once its pspReference is stored.
    if (waiting) return WebhookItemOutcome.WAITING;
    if (eventCode !== "REFUND" || !item.success || !item.amount) {
      this.deps.logger.warn(
        { ...itemFields(item), paymentId: payment.id },
        "webhook names a refund unknown for the payment: nothing to change",
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
   * No payment for the item: it stays in the inbox, applied when the payment's pspReference is recorded or by a later
   * sweep, until it is unmatchedAfterMs old. Then it is settled and kept, for an operator to look at.
   */
  private async waitForPayment(item: StoredNotification): Promise<WebhookItemOutcome> {
    if (Date.now() - item.receivedAt.getTime() < this.options.unmatchedAfterMs) return WebhookItemOutcome.WAITING;
    this.deps.logger.warn(
      { ...itemFields(item), merchantReference: item.merchantReference },
      "webhook matches no payment: settled as unmatched",
    );
    this.deps.telemetry.webhookAnomaly(WebhookAnomaly.UNMATCHED);
    await this.deps.inbox.settle(item.id, NotificationOutcome.UNMATCHED);
    return WebhookItemOutcome.NO_CHANGE;
  }

  /**
   * RECURRING_CONTRACT: `pspReference` is the new token, `originalReference` the payment that created it. The token
   * belongs to that payment's API key; it may arrive before or after the payment's AUTHORISATION.
   * docs/contract.md: a token only for a payment that asked to store the method, for that payment's shopperReference;
   * the shopper in additionalData is not covered by the HMAC, so it is never read.
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
    if (!payment) return this.waitForPayment(item);
    if (!payment.storePaymentMethod || payment.shopperReference === null) {
      this.deps.logger.warn(
        { ...itemFields(item), paymentId: payment.id },
        "RECURRING_CONTRACT for a payment that did not ask to store a method: token not recorded",
      );
      await this.deps.inbox.settle(item.id, NotificationOutcome.NO_CHANGE);
      return WebhookItemOutcome.NO_CHANGE;
    }
    await this.deps.tokens.recordToken(
      {
        id: item.pspReference as StoredPaymentMethodId,
        owner: payment.owner,
        shopperReference: payment.shopperReference,
        type: KAKAOPAY,
        originalPaymentId: payment.id,
      },
      { notificationId: item.id },
    );
    return WebhookItemOutcome.APPLIED;
  }
}

function itemFields(item: StoredNotification) {
  return { operation: "webhookApply", notificationId: item.id, eventCode: item.eventCode, pspReference: item.pspReference };
}

function signalOf(item: Notification): PaymentSignal | null {
  switch (item.eventCode) {
    case "AUTHORISATION":
      return { source: EventSource.WEBHOOK, eventCode: "AUTHORISATION", success: item.success, reason: item.reason, amount: item.amount };
    case "OFFER_CLOSED":
      return item.success ? { source: EventSource.WEBHOOK, eventCode: "OFFER_CLOSED" } : null;
    default:
      return null;
  }
}
