import type { IncomingMessage, ServerResponse } from "node:http";
import { parseFaultSettings, type FaultInjector, type FaultSettings } from "./faults.js";
import { BodyTooLargeError, readBody, sendJson } from "./http-io.js";
import type { PaymentLifecycle } from "./lifecycle.js";
import type { Scheduler } from "./scheduler.js";
import type { Amount, Ledger, PaymentStatus, ShopperOutcome } from "./state.js";
import { eventDate, type NotificationItem, type WebhookBehaviour, type WebhookSender } from "./webhooks.js";

export interface SimulatorStats {
  /** Payments created by /payments (an idempotent replay creates none). */
  paymentsCreated: number;
  /** Refunds accepted by POST /payments/{paymentPspReference}/refunds (a replay or a DOWN… 500 creates none). */
  refundsCreated: number;
  /** Checkout requests received, by path template, e.g. "/v72/payments"; faulted and rejected ones included. */
  requestsByPath: Record<string, number>;
  webhooksDelivered: number;
  /** Webhooks given up after the last retry. */
  webhooksFailed: number;
  /** Webhooks released and not yet delivered or given up (in flight or waiting for a retry). */
  pendingDeliveries: number;
}

export interface PaymentSummary {
  pspReference: string;
  reference: string;
  status: PaymentStatus;
  amount: Amount;
  /** redirect: through the KakaoPay page; token: a charge of a stored method. */
  kind: "redirect" | "token";
  shopperReference?: string;
  sessionId?: string;
  outcome?: ShopperOutcome;
  /** The token charged, or the token this payment stored. */
  storedPaymentMethodId?: string;
  /** Its refunds, oldest first; `counts` is false once one failed or was reversed. */
  refunds: Array<{ pspReference: string; reference: string; amount: Amount; counts: boolean }>;
  createdAt: string;
}

/** A NotificationRequestItem to sign and send; eventDate and merchantAccountCode default to now and the simulator's. */
export type NotificationItemInput = Omit<NotificationItem, "eventDate" | "merchantAccountCode"> &
  Partial<Pick<NotificationItem, "eventDate" | "merchantAccountCode">>;

/** What tests may do to the simulator: in-process, or over HTTP at POST /__control and GET /__control/stats. */
export interface SimulatorControl {
  /** Makes the next Checkout API requests fail (see FaultSettings); mode "none" ends it. */
  setFaults(settings: FaultSettings): void;
  /** Replaces the webhook behaviour; an empty object restores normal delivery. */
  setWebhookBehaviour(behaviour: WebhookBehaviour): void;
  /** Expires an open session now, by pspReference or session id, and sends OFFER_CLOSED now. */
  expireSession(pspReferenceOrSessionId: string): void;
  /** Signs and sends an arbitrary notification item (checked against Webhooks-v1.json first). */
  sendWebhook(item: NotificationItemInput): void;
  stats(): SimulatorStats;
  payments(): PaymentSummary[];
  /** Ends faults and webhook behaviours; payments and tokens stay. */
  reset(): void;
  /** Resolves when no webhook is in flight and no timer is due within horizonMs (default 1000). */
  idle(horizonMs?: number): Promise<void>;
}

/** A control request that cannot be carried out; status is the HTTP answer over /__control. */
export class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_IDLE_HORIZON_MS = 1_000;
const CONTROL_BODY_LIMIT_BYTES = 65_536;

function parseWebhookBehaviour(input: unknown): WebhookBehaviour {
  if (typeof input !== "object" || input === null) throw new ControlError(400, "behaviour must be an object");
  const { duplicates, reverseOrder, dropEventCodes, recurringContractFirst, ...unknown } = input as Record<string, unknown>;
  const unknownKeys = Object.keys(unknown);
  if (unknownKeys.length > 0) throw new ControlError(400, `unknown webhook behaviours: ${unknownKeys.join(", ")}`);
  for (const [name, value] of Object.entries({ duplicates, reverseOrder, recurringContractFirst })) {
    if (value !== undefined && typeof value !== "boolean") throw new ControlError(400, `${name} must be a boolean`);
  }
  if (dropEventCodes !== undefined && !(Array.isArray(dropEventCodes) && dropEventCodes.every((code) => typeof code === "string"))) {
    throw new ControlError(400, "dropEventCodes must be an array of event codes");
  }
  const behaviour = input as WebhookBehaviour;
  return dropEventCodes === undefined ? { ...behaviour } : { ...behaviour, dropEventCodes: [...(behaviour.dropEventCodes ?? [])] };
}

function checkNotificationItem(input: unknown): NotificationItemInput {
  const item = input as Partial<Record<keyof NotificationItem, unknown>> | null;
  const amount = item?.amount as Partial<Amount> | undefined;
  const wellFormed =
    typeof item === "object" &&
    item !== null &&
    typeof item.eventCode === "string" &&
    typeof item.pspReference === "string" &&
    typeof item.merchantReference === "string" &&
    (item.success === "true" || item.success === "false") &&
    typeof amount?.value === "number" &&
    typeof amount.currency === "string";
  // The rest is checked against Webhooks-v1.json when the item is released.
  if (!wellFormed) {
    throw new ControlError(
      400,
      'item needs eventCode, pspReference, merchantReference, amount {value, currency} and success "true"|"false"',
    );
  }
  return input as NotificationItemInput;
}

export function createControl(deps: {
  ledger: Ledger;
  lifecycle: PaymentLifecycle;
  webhooks: WebhookSender;
  faults: FaultInjector;
  scheduler: Scheduler;
  merchantAccount: string;
  webhooksConfigured: boolean;
  requestsByPath: () => Record<string, number>;
}): SimulatorControl {
  return {
    setFaults(settings) {
      try {
        deps.faults.set(parseFaultSettings(settings));
      } catch (error) {
        throw new ControlError(400, (error as Error).message);
      }
    },
    setWebhookBehaviour(behaviour) {
      deps.webhooks.setBehaviour(parseWebhookBehaviour(behaviour));
    },
    expireSession(pspReferenceOrSessionId) {
      const payment = deps.ledger.paymentByPspReference(pspReferenceOrSessionId) ?? deps.ledger.paymentBySession(pspReferenceOrSessionId);
      if (payment?.session === undefined) throw new ControlError(404, "no redirect payment with that pspReference or session id");
      if (!deps.lifecycle.expire(payment)) throw new ControlError(409, `the session is no longer open (status ${payment.status})`);
    },
    sendWebhook(input) {
      if (!deps.webhooksConfigured) throw new ControlError(409, "the simulator was started without a webhook target");
      const item = checkNotificationItem(input);
      try {
        deps.webhooks.release([
          {
            ...item,
            eventDate: item.eventDate ?? eventDate(new Date()),
            merchantAccountCode: item.merchantAccountCode ?? deps.merchantAccount,
          },
        ]);
      } catch (error) {
        throw new ControlError(400, (error as Error).message);
      }
    },
    stats() {
      return {
        paymentsCreated: deps.ledger.paymentCount,
        refundsCreated: deps.ledger.refundCount,
        requestsByPath: deps.requestsByPath(),
        ...deps.webhooks.stats(),
      };
    },
    payments() {
      return deps.ledger.allPayments().map((payment) => ({
        pspReference: payment.pspReference,
        reference: payment.reference,
        status: payment.status,
        amount: { ...payment.amount },
        kind: payment.session === undefined ? "token" : "redirect",
        ...(payment.shopperReference === undefined ? {} : { shopperReference: payment.shopperReference }),
        ...(payment.session === undefined ? {} : { sessionId: payment.session.id }),
        ...(payment.session?.outcome === undefined ? {} : { outcome: payment.session.outcome }),
        ...(payment.storedPaymentMethodId === undefined ? {} : { storedPaymentMethodId: payment.storedPaymentMethodId }),
        refunds: deps.ledger.refundsOf(payment.pspReference).map((refund) => ({
          pspReference: refund.pspReference,
          reference: refund.reference,
          amount: { ...refund.amount },
          counts: refund.counts,
        })),
        createdAt: payment.createdAt.toISOString(),
      }));
    },
    reset() {
      deps.faults.reset();
      deps.webhooks.resetBehaviour();
    },
    idle(horizonMs = DEFAULT_IDLE_HORIZON_MS) {
      return deps.scheduler.idle(horizonMs);
    },
  };
}

/**
 * The control plane over HTTP, for a gateway test that runs the simulator in another process:
 * GET /__control/stats, GET /__control/payments, and POST /__control with {"action": ...}:
 * setFaults {faults}, setWebhookBehaviour {behaviour}, expireSession {id}, sendWebhook {item}, reset, idle {horizonMs?}.
 */
export async function handleControlRequest(
  control: SimulatorControl,
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
): Promise<void> {
  if (request.method === "GET" && path === "/__control/stats") return sendJson(response, 200, control.stats());
  if (request.method === "GET" && path === "/__control/payments") return sendJson(response, 200, control.payments());
  if (request.method !== "POST" || path !== "/__control") return sendJson(response, 404, { error: "unknown control route" });
  try {
    let command: unknown;
    try {
      command = JSON.parse(await readBody(request, CONTROL_BODY_LIMIT_BYTES));
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw new ControlError(413, error.message);
      command = undefined;
    }
    if (typeof command !== "object" || command === null) throw new ControlError(400, "the body must be a JSON object with an action");
    await runCommand(control, command as Record<string, unknown>);
    sendJson(response, 200, { ok: true });
  } catch (error) {
    if (!(error instanceof ControlError)) throw error;
    sendJson(response, error.status, { error: error.message });
  }
}

async function runCommand(control: SimulatorControl, command: Record<string, unknown>): Promise<void> {
  switch (command["action"]) {
    case "setFaults":
      return control.setFaults(command["faults"] as FaultSettings);
    case "setWebhookBehaviour":
      return control.setWebhookBehaviour(command["behaviour"] as WebhookBehaviour);
    case "expireSession":
      if (typeof command["id"] !== "string") throw new ControlError(400, "expireSession needs an id");
      return control.expireSession(command["id"]);
    case "sendWebhook":
      return control.sendWebhook(command["item"] as NotificationItemInput);
    case "reset":
      return control.reset();
    case "idle": {
      const horizonMs = command["horizonMs"];
      if (horizonMs !== undefined && !(Number.isSafeInteger(horizonMs) && (horizonMs as number) >= 0)) {
        throw new ControlError(400, "horizonMs must be a non-negative integer");
      }
      return control.idle(horizonMs as number | undefined);
    }
    default:
      throw new ControlError(400, "unknown action");
  }
}
