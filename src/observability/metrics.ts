import { Counter, Registry } from "prom-client";
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

  webhookAnomaly(kind: WebhookAnomaly): void {
    this.anomalies.inc({ kind });
  }

  /** The current value of one counter series, for tests and the readiness of alerts. */
  async value(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = await this.registry.getSingleMetric(name)?.get();
    const match = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
    return match?.value ?? 0;
  }
}
