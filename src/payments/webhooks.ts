import type { PspReference, StoredPaymentMethodId } from "./ids.js";
import { type Notification, NotificationOutcome, type StoredNotification } from "./notification.js";
import { KAKAOPAY } from "./payment.js";
import type { NotificationInbox, PaymentStore, StatusEvents, StoredPaymentMethodStore } from "./ports.js";
import { EventSource } from "./status.js";
import type { PaymentTelemetry } from "./telemetry.js";
import type { PaymentSignal } from "./transitions.js";

export interface WebhookDeps {
  store: PaymentStore;
  tokens: StoredPaymentMethodStore;
  inbox: NotificationInbox;
  events: StatusEvents;
  /** Items for any other merchant account are stored and acknowledged, never applied. */
  merchantAccount: string;
  /** Counts the anomalies an operator must look at. */
  telemetry: PaymentTelemetry;
  log: (line: string) => void;
}

/** Adyen's webhooks: stored before they are acknowledged, then applied once through the status rules. */
export class PaymentWebhooks {
  /** Serialises applying per pspReference, so one payment's items apply in the order they were stored. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(private readonly deps: WebhookDeps) {}

  /** Stores the items durably; returns those not seen before, to apply once acknowledged. */
  async receive(notifications: Notification[]): Promise<StoredNotification[]> {
    const saved = await this.deps.inbox.save(notifications);
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
      this.applyOne(item).catch((error: unknown) => {
        // With the stack: a webhook we cannot apply is an internal error the operator has to see.
        const cause = error instanceof Error ? (error.stack ?? error.message) : String(error);
        this.deps.log(`webhook ${item.id} (${item.eventCode}) not applied yet: ${cause}`);
      }),
    );
    this.queues.set(key, next);
    return next.finally(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
  }

  private async applyOne(item: StoredNotification): Promise<void> {
    if (item.merchantAccountCode !== this.deps.merchantAccount) {
      return this.deps.inbox.settle(item.id, NotificationOutcome.OTHER_MERCHANT_ACCOUNT);
    }
    if (item.eventCode === "RECURRING_CONTRACT") return this.applyRecurringContract(item);
    const signal = signalOf(item);
    if (!signal) return this.deps.inbox.settle(item.id, NotificationOutcome.UNHANDLED_EVENT);
    const payment = await this.deps.store.findPaymentFor(item);
    // Not ours yet: it stays in the inbox and is applied when the payment's pspReference is recorded.
    if (!payment) return;
    const recorded = await this.deps.store.recordSignal(
      payment.id,
      signal,
      { pspReference: item.pspReference as PspReference },
      { notificationId: item.id },
    );
    if (recorded.change) this.deps.events.publish(recorded.change);
  }

  /**
   * RECURRING_CONTRACT: `pspReference` is the new token, `originalReference` the payment that created it. The token
   * belongs to that payment's API key; it may arrive before or after the payment's AUTHORISATION.
   */
  private async applyRecurringContract(item: StoredNotification): Promise<void> {
    if (!item.success) return this.deps.inbox.settle(item.id, NotificationOutcome.NO_CHANGE);
    const payment = await this.deps.store.findPaymentFor({
      pspReference: item.originalReference,
      merchantReference: item.merchantReference,
      amount: item.amount,
    });
    if (!payment) return;
    const shopperReference =
      item.additionalData["recurring.shopperReference"] ?? item.additionalData["shopperReference"] ?? payment.shopperReference;
    if (!shopperReference || (payment.shopperReference !== null && payment.shopperReference !== shopperReference)) {
      this.deps.log(`RECURRING_CONTRACT ${item.id} names another shopper than payment ${payment.id}: token not recorded`);
      return this.deps.inbox.settle(item.id, NotificationOutcome.NO_CHANGE);
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
  }
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
