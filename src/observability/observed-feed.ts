import type { Logger } from "../payments/logger.js";
import type { PaymentStatusChange } from "../payments/payment.js";
import type { StatusFeed, StatusSubscription } from "../payments/ports.js";
import type { PaymentId } from "../payments/ids.js";
import type { GatewayMetrics } from "./metrics.js";

/**
 * Every committed change passes through `publish`: counting and logging it here gives each payment one line per
 * change, with its ids, without the use cases knowing about metrics or logs.
 */
export class ObservedStatusFeed implements StatusFeed {
  /**
   * Events published now (a replay reads older ones from the store): only these have a publish delay. Keyed by the
   * event, which a subscription hands on as it is (it rebuilds the payment as of each event).
   */
  private readonly live = new WeakSet<PaymentStatusChange["event"]>();

  constructor(
    private readonly feed: StatusFeed,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
  ) {}

  publish(change: PaymentStatusChange): void {
    this.metrics.statusChange(change);
    const { event, payment, refund } = change;
    this.logger.info(
      {
        operation: "statusChange",
        paymentId: payment.id,
        pspReference: payment.pspReference,
        ...(refund ? { refundId: refund.id, refundPspReference: refund.pspReference, refundStatus: refund.status } : {}),
        status: event.status,
        previousStatus: event.previousStatus,
        source: event.source,
        eventCode: event.eventCode,
        version: event.version,
      },
      "payment changed",
    );
    this.live.add(change.event);
    this.feed.publish(change);
  }

  isLive(change: PaymentStatusChange): boolean {
    return this.live.has(change.event);
  }

  subscribe(paymentId: PaymentId): StatusSubscription {
    return this.feed.subscribe(paymentId);
  }
}
