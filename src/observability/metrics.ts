import { Counter, Gauge, Registry } from "prom-client";
import type { PaymentTelemetry, WebhookAnomaly } from "../payments/telemetry.js";

/**
 * The gateway's Prometheus metrics, one registry per gateway (tests run several in one process). Names and labels
 * are fixed by docs/contract.md (Operations); labels never carry ids.
 */
export class GatewayMetrics implements PaymentTelemetry {
  readonly registry = new Registry();
  private readonly anomalies = new Counter({
    name: "gateway_webhook_anomalies_total",
    help: "Webhook items that contradict what the gateway knows, by kind",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });

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

  /** The current value of one series (counter or gauge), for tests and the readiness of alerts. */
  async value(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = await this.registry.getSingleMetric(name)?.get();
    const match = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
    return match?.value ?? 0;
  }
}
