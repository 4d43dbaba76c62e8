/** Webhook items that contradict what we know, each of which an operator must look at (docs/contract.md, Operations). */
export const WebhookAnomaly = {
  REFUSED_AFTER_AUTHORISED: "refused_after_authorised",
  AMOUNT_MISMATCH: "amount_mismatch",
  PSP_REFERENCE_MISMATCH: "psp_reference_mismatch",
  UNMATCHED: "unmatched",
} as const;
export type WebhookAnomaly = (typeof WebhookAnomaly)[keyof typeof WebhookAnomaly];

/** What the domain counts for operators; src/observability implements it with Prometheus metrics. */
export interface PaymentTelemetry {
  webhookAnomaly(kind: WebhookAnomaly): void;
}
