import type { AdyenOperation, AdyenOutcome } from "../adyen/http-client.js";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { PaymentStatusChange } from "../payments/payment.js";
import type { PaymentTelemetry, WebhookAnomaly, WebhookItemOutcome } from "../payments/telemetry.js";

export type GraphQLOperationType = "query" | "mutation" | "subscription";

/** Adyen answers in tens to hundreds of ms; its timeout is ADYEN_TIMEOUT_MS (10 s by default). */
const ADYEN_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** A webhook's change reaches its subscribers in well under a millisecond when all is well. */
const PUBLISH_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1];

/**
 * The gateway's Prometheus metrics, one registry per gateway (tests run several in one process). Names and labels
 * are fixed by docs/contract.md (Operations); labels never carry ids, so every label set is bounded.
 */
export class GatewayMetrics implements PaymentTelemetry {
  readonly registry = new Registry();
  private readonly anomalies = new Counter({
    name: "gateway_webhook_anomalies_total",
    help: "Webhook items that contradict what the gateway knows, by kind",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  private readonly operations = new Counter({
    name: "gateway_graphql_operations_total",
    help: "GraphQL operations by type, root field and outcome (ok or the error code)",
    labelNames: ["type", "field", "outcome"] as const,
    registers: [this.registry],
  });
  private readonly operationSeconds = new Histogram({
    name: "gateway_graphql_operation_duration_seconds",
    help: "Time to answer a GraphQL query or mutation (a subscription: to set it up)",
    labelNames: ["type", "field"] as const,
    registers: [this.registry],
  });
  private readonly started = new Counter({
    name: "gateway_payments_started_total",
    help: "Payments Adyen accepted to start, by kind (redirect: the hosted page; token: a stored payment method)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  private readonly statusChanges = new Counter({
    name: "gateway_payment_status_changes_total",
    help: "Committed payment status changes, by new status and source (API, REDIRECT, WEBHOOK)",
    labelNames: ["status", "source"] as const,
    registers: [this.registry],
  });
  private readonly refunds = new Counter({
    name: "gateway_refunds_total",
    help: "Refund statuses reached",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });
  private readonly webhookRequests = new Counter({
    name: "gateway_webhook_requests_total",
    help: "Requests to /webhooks/adyen by HTTP status answered",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });
  private readonly webhookItems = new Counter({
    name: "gateway_webhook_items_total",
    help: "Webhook items by event code and what became of them",
    labelNames: ["event_code", "outcome"] as const,
    registers: [this.registry],
  });
  private readonly adyenSeconds = new Histogram({
    name: "gateway_adyen_request_duration_seconds",
    help: "Calls to Adyen's Checkout API by operation and outcome (ok, rejected: 4xx, unavailable: 5xx, timeout, network)",
    labelNames: ["operation", "outcome"] as const,
    buckets: ADYEN_BUCKETS,
    registers: [this.registry],
  });
  private readonly publishDelay = new Histogram({
    name: "gateway_status_publish_delay_seconds",
    help: "From the commit of a status change to its hand-off to a subscriber's socket",
    buckets: PUBLISH_BUCKETS,
    registers: [this.registry],
  });

  /** `countUnapplied` is asked at each scrape: the inbox is the truth, not a count kept beside it. */
  constructor(countUnapplied: () => Promise<number>) {
    new Gauge({
      name: "gateway_webhook_inbox_unapplied",
      help: "Webhook items stored and acknowledged but not applied yet",
      registers: [this.registry],
      async collect() {
        this.set(await countUnapplied());
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  private openSubscriptions: () => number = () => 0;
  /** Set when scraped, from the feed's own count, so it can never drift from what the feed holds. */
  readonly subscriptionsActive: Gauge = new Gauge({
    name: "gateway_subscriptions_active",
    help: "Subscriptions the status feed is holding open",
    registers: [this.registry],
    collect: () => this.subscriptionsActive.set(this.openSubscriptions()),
  });

  /** Where gateway_subscriptions_active is read from: the status feed's count of open subscriptions. */
  countSubscriptions(open: () => number): void {
    this.openSubscriptions = open;
  }

  webhookAnomaly(kind: WebhookAnomaly): void {
    this.anomalies.inc({ kind });
  }

  webhookItem(eventCode: string, outcome: WebhookItemOutcome): void {
    this.webhookItems.inc({ event_code: eventCode, outcome });
  }

  /** A committed change: a payment's first status means Adyen accepted to start it. */
  statusChange({ event, payment }: PaymentStatusChange): void {
    if (event.refundId && event.refundStatus) this.refunds.inc({ status: event.refundStatus });
    if (event.status === event.previousStatus) return;
    this.statusChanges.inc({ status: event.status, source: event.source });
    if (event.previousStatus === null) this.started.inc({ kind: payment.storedPaymentMethodId ? "token" : "redirect" });
  }

  webhookRequest(code: 200 | 400 | 401 | 413): void {
    this.webhookRequests.inc({ code: String(code) });
  }

  adyenRequest(operation: AdyenOperation, outcome: AdyenOutcome, seconds: number): void {
    this.adyenSeconds.observe({ operation, outcome }, seconds);
  }

  graphqlOperation(type: GraphQLOperationType, field: string, outcome: string, seconds: number): void {
    this.operations.inc({ type, field, outcome });
    this.operationSeconds.observe({ type, field }, seconds);
  }

  statusPublished(committedAt: Date): void {
    this.publishDelay.observe(Math.max(0, Date.now() - committedAt.getTime()) / 1000);
  }

  /** The current value of one series (counter or gauge), for tests and the readiness of alerts. */
  async value(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = await this.registry.getSingleMetric(name)?.get();
    const match = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
    return match?.value ?? 0;
  }
}
