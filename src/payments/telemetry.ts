/** Webhook items that contradict what we know, each of which an operator must look at (docs/contract.md, Operations). */
export const WebhookAnomaly = {
  REFUSED_AFTER_AUTHORISED: "refused_after_authorised",
  AMOUNT_MISMATCH: "amount_mismatch",
  PSP_REFERENCE_MISMATCH: "psp_reference_mismatch",
  UNMATCHED: "unmatched",
} as const;
export type WebhookAnomaly = (typeof WebhookAnomaly)[keyof typeof WebhookAnomaly];

/** What became of one webhook item (docs/contract.md, Operations: `gateway_webhook_items_total`). */
export const WebhookItemOutcome = {
  APPLIED: "applied",
  DUPLICATE: "duplicate",
  NO_CHANGE: "no_change",
  /** About a payment or refund whose pspReference we do not know yet: it stays in the inbox. */
  WAITING: "waiting",
  UNHANDLED: "unhandled",
  OTHER_MERCHANT: "other_merchant",
} as const;
export type WebhookItemOutcome = (typeof WebhookItemOutcome)[keyof typeof WebhookItemOutcome];

/** What the domain counts for operators; src/observability implements it with Prometheus metrics. */
export interface PaymentTelemetry {
  webhookAnomaly(kind: WebhookAnomaly): void;
  webhookItem(eventCode: string, outcome: WebhookItemOutcome): void;
}
