import { createHmac } from "node:crypto";
import type { Scheduler } from "./scheduler.js";
import type { Amount, SimulatedPayment, SimulatedRefund, StoredPaymentMethod } from "./state.js";
import type { WebhookSpec } from "./spec.js";
import type { Logger } from "../payments/logger.js";

/** Adyen's NotificationRequestItem as it goes on the wire (all strings but the amount). */
export interface NotificationItem {
  additionalData?: Record<string, string>;
  amount: Amount;
  eventCode: string;
  eventDate: string;
  merchantAccountCode: string;
  merchantReference: string;
  originalReference?: string;
  /** Required by the spec's RECURRING_CONTRACT item; the same value as originalReference. */
  originalPsp?: string;
  paymentMethod?: string;
  pspReference: string;
  reason?: string;
  success: "true" | "false";
}

/** Where and how the simulator sends standard webhooks. */
export interface WebhookTarget {
  url: string;
  hmacKeyHex: string;
  username: string;
  password: string;
}

/** Test switches that make delivery misbehave the ways Adyen's may. */
export interface WebhookBehaviour {
  /** Send every webhook twice. */
  duplicates?: boolean;
  /** Deliver the webhooks released together for one payment in reverse order (applied after recurringContractFirst). */
  reverseOrder?: boolean;
  /** Never send these event codes (e.g. RECURRING_CONTRACT, to test token recovery). */
  dropEventCodes?: string[];
  /** Send RECURRING_CONTRACT before AUTHORISATION. */
  recurringContractFirst?: boolean;
}

/** The fields Adyen signs, in order; a missing field stays empty, so no originalReference gives "::". */
export function hmacSigningPayload(item: NotificationItem): string {
  return [
    item.pspReference,
    item.originalReference ?? "",
    item.merchantAccountCode,
    item.merchantReference,
    String(item.amount.value),
    item.amount.currency,
    item.eventCode,
    item.success,
  ].join(":");
}

/** HMAC-SHA256 with the hex-decoded key, base64: Adyen's hmacSignature. */
export function hmacSignature(payload: string, hmacKeyHex: string): string {
  return createHmac("sha256", Buffer.from(hmacKeyHex, "hex")).update(payload, "utf8").digest("base64");
}

function signNotificationItem(item: NotificationItem, hmacKeyHex: string): NotificationItem {
  return { ...item, additionalData: { ...item.additionalData, hmacSignature: hmacSignature(hmacSigningPayload(item), hmacKeyHex) } };
}

/** Adyen's eventDate shape: seconds and an explicit offset, e.g. 2024-05-01T09:30:00+00:00. */
export function eventDate(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, "+00:00");
}

export function authorisationItem(
  payment: SimulatedPayment,
  merchantAccount: string,
  outcome: { success: boolean; reason?: string },
): NotificationItem {
  return {
    amount: payment.amount,
    eventCode: "AUTHORISATION",
    eventDate: eventDate(new Date()),
    merchantAccountCode: merchantAccount,
    merchantReference: payment.reference,
    paymentMethod: "kakaopay",
    pspReference: payment.pspReference,
    ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
    success: outcome.success ? "true" : "false",
  };
}

/** REFUND, REFUND_FAILED or REFUNDED_REVERSED: the refund's own pspReference, the payment's as originalReference. */
export function refundItem(
  refund: SimulatedRefund,
  merchantAccount: string,
  eventCode: "REFUND" | "REFUND_FAILED" | "REFUNDED_REVERSED",
  outcome: { success: boolean; reason?: string },
): NotificationItem {
  return {
    amount: refund.amount,
    eventCode,
    eventDate: eventDate(new Date()),
    merchantAccountCode: merchantAccount,
    merchantReference: refund.reference,
    originalReference: refund.paymentPspReference,
    paymentMethod: "kakaopay",
    pspReference: refund.pspReference,
    ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
    success: outcome.success ? "true" : "false",
  };
}

export function recurringContractItem(payment: SimulatedPayment, token: StoredPaymentMethod, merchantAccount: string): NotificationItem {
  return {
    additionalData: {
      "recurring.shopperReference": token.shopperReference,
      shopperReference: token.shopperReference,
      "recurring.recurringDetailReference": token.id,
    },
    amount: payment.amount,
    eventCode: "RECURRING_CONTRACT",
    eventDate: eventDate(new Date()),
    merchantAccountCode: merchantAccount,
    merchantReference: payment.reference,
    originalReference: payment.pspReference,
    originalPsp: payment.pspReference,
    paymentMethod: "kakaopay",
    pspReference: token.id,
    success: "true",
  };
}

export function offerClosedItem(payment: SimulatedPayment, merchantAccount: string): NotificationItem {
  return {
    amount: payment.amount,
    eventCode: "OFFER_CLOSED",
    eventDate: eventDate(new Date()),
    merchantAccountCode: merchantAccount,
    merchantReference: payment.reference,
    paymentMethod: "kakaopay",
    pspReference: payment.pspReference,
    success: "true",
  };
}

/** fetch reports network failures as "fetch failed" with the reason (e.g. ECONNREFUSED) in its cause. */
function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const reason = cause?.code ?? cause?.message;
  return typeof reason === "string" ? `${error.message}: ${reason}` : error.message;
}

/** Adyen waits about ten seconds for an answer before it counts the attempt as failed. */
const ATTEMPT_TIMEOUT_MS = 10_000;

export interface WebhookStats {
  webhooksDelivered: number;
  webhooksFailed: number;
  pendingDeliveries: number;
}

/**
 * Signs, validates and delivers webhooks like Adyen: one item per request, basic auth, success only on 2xx with
 * "[accepted]", otherwise retried on a schedule and then given up. Deliveries are independent of each other.
 */
export class WebhookSender {
  private behaviour: WebhookBehaviour = {};
  private readonly closing = new AbortController();
  private delivered = 0;
  private failed = 0;
  private pending = 0;

  constructor(
    private readonly deps: {
      target: WebhookTarget | undefined;
      retryScheduleMs: readonly number[];
      scheduler: Scheduler;
      spec: WebhookSpec;
      logger: Logger;
    },
  ) {}

  setBehaviour(behaviour: WebhookBehaviour): void {
    this.behaviour = { ...behaviour };
  }

  resetBehaviour(): void {
    this.behaviour = {};
  }

  stats(): WebhookStats {
    return { webhooksDelivered: this.delivered, webhooksFailed: this.failed, pendingDeliveries: this.pending };
  }

  /**
   * Sends the webhooks of one payment that fall due together, in the given (natural) order unless the behaviour
   * says otherwise. Each item is signed and checked against Webhooks-v1.json first: a failing item throws, since
   * it would be a simulator bug or a bad control request, and nothing of the batch is sent. Resolves once every first
   * attempt is over (retries go on by themselves).
   */
  release(items: readonly NotificationItem[]): Promise<void> {
    const target = this.deps.target;
    if (target === undefined) return Promise.resolve();
    const requests = this.arrange(items).map((item) => {
      const body = { live: "false", notificationItems: [{ NotificationRequestItem: signNotificationItem(item, target.hmacKeyHex) }] };
      const problem = this.deps.spec.validateNotification(item.eventCode, body);
      if (problem !== undefined) throw new Error(`${item.eventCode} webhook does not match Webhooks-v1.json: ${problem}`);
      return { item, body: JSON.stringify(body) };
    });
    this.pending += requests.length;
    // First attempts go out one after another so the receiver sees the intended order; retries run independently.
    const firstAttempts = (async () => {
      for (const request of requests) await this.attempt(target, request.item, request.body, 0);
    })();
    this.deps.scheduler.track(firstAttempts);
    return firstAttempts;
  }

  /** Aborts deliveries in flight; their retries are never scheduled because the scheduler is closed too. */
  close(): void {
    this.closing.abort();
  }

  private arrange(items: readonly NotificationItem[]): NotificationItem[] {
    const dropped = new Set(this.behaviour.dropEventCodes ?? []);
    let arranged = items.filter((item) => {
      if (!dropped.has(item.eventCode)) return true;
      this.deps.logger.info({ eventCode: item.eventCode, pspReference: item.pspReference }, "webhook dropped (test behaviour)");
      return false;
    });
    if (this.behaviour.recurringContractFirst === true) {
      arranged = [
        ...arranged.filter((item) => item.eventCode === "RECURRING_CONTRACT"),
        ...arranged.filter((item) => item.eventCode !== "RECURRING_CONTRACT"),
      ];
    }
    if (this.behaviour.reverseOrder === true) arranged.reverse();
    if (this.behaviour.duplicates === true) arranged = arranged.flatMap((item) => [item, item]);
    return arranged;
  }

  private async attempt(target: WebhookTarget, item: NotificationItem, body: string, attemptIndex: number): Promise<void> {
    const fields = { eventCode: item.eventCode, pspReference: item.pspReference, attempt: attemptIndex + 1 };
    let problem: string | undefined;
    try {
      const response = await fetch(target.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Basic ${Buffer.from(`${target.username}:${target.password}`).toString("base64")}`,
        },
        body,
        redirect: "manual",
        signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
      });
      const answer = await response.text();
      if (response.status < 200 || response.status > 299) problem = `HTTP ${response.status}`;
      else if (answer.trim() !== "[accepted]") problem = `HTTP ${response.status} without [accepted]`;
    } catch (error) {
      if (this.closing.signal.aborted) return;
      problem = describeFailure(error);
    }

    if (problem === undefined) {
      this.pending -= 1;
      this.delivered += 1;
      this.deps.logger.info(fields, "webhook delivered");
      return;
    }
    const retryDelayMs = this.deps.retryScheduleMs[attemptIndex];
    if (retryDelayMs === undefined) {
      this.pending -= 1;
      this.failed += 1;
      this.deps.logger.warn({ ...fields, problem }, "webhook delivery failed; giving up");
      return;
    }
    this.deps.logger.info({ ...fields, problem, retryDelayMs }, "webhook delivery failed; retrying");
    this.deps.scheduler.schedule(retryDelayMs, () => {
      this.deps.scheduler.track(this.attempt(target, item, body, attemptIndex + 1));
    });
  }
}
