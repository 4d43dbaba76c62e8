import { createHash, randomBytes, randomInt } from "node:crypto";

/** Money in minor units; KRW has no decimals, so value 12300 is ₩12,300. */
export interface Amount {
  value: number;
  currency: string;
}

/** What the shopper can choose on the hosted KakaoPay page. */
export type ShopperOutcome = "authorised" | "refused" | "cancelled" | "error" | "pending";
export const SHOPPER_OUTCOMES: readonly ShopperOutcome[] = ["authorised", "refused", "cancelled", "error", "pending"];

/** Adyen's resultCodes, plus Expired for a session closed by OFFER_CLOSED. */
export type PaymentStatus = "RedirectShopper" | "Authorised" | "Refused" | "Cancelled" | "Error" | "Pending" | "Expired";

/** The KakaoPay page session of a redirect payment. */
export interface RedirectSession {
  readonly id: string;
  readonly returnUrl: string;
  outcome?: ShopperOutcome;
  /** Handed to the shopper's returnUrl; /payments/details exchanges it for the outcome. */
  redirectResult?: string;
  /** Cancels the offer-TTL timer once the shopper has chosen. */
  cancelExpiry?: () => void;
}

export interface SimulatedPayment {
  readonly pspReference: string;
  /** The merchant's reference (Adyen's merchantReference). */
  readonly reference: string;
  readonly amount: Amount;
  readonly shopperReference: string | undefined;
  status: PaymentStatus;
  readonly createdAt: Date;
  /** Present for a redirect payment (the KakaoPay page); absent for a token charge. */
  readonly session: RedirectSession | undefined;
  readonly storePaymentMethod: boolean;
  /** The token charged (token payment) or created by this payment (redirect payment that stored the method). */
  storedPaymentMethodId: string | undefined;
}

export interface StoredPaymentMethod {
  /** Adyen's token, which is also the RECURRING_CONTRACT's pspReference. */
  readonly id: string;
  readonly shopperReference: string;
  /** The payment that created the token. */
  readonly firstPspReference: string;
  readonly createdAt: Date;
  active: boolean;
}

/**
 * A refund of a captured payment. `reference` decides what the simulated acquirer does with it (docs/contract.md, The
 * simulator): FAIL… is declined, LATEFAIL… succeeds then fails, REVERSE… succeeds then comes back.
 */
export interface SimulatedRefund {
  readonly pspReference: string;
  readonly paymentPspReference: string;
  /** The refund's reference, or the payment's when the request gave none (Adyen's merchantReference). */
  readonly reference: string;
  readonly amount: Amount;
  readonly createdAt: Date;
  /** Whether its amount still counts against what is left to refund: false once it failed or was reversed. */
  counts: boolean;
}

/** A Checkout answer kept for an Idempotency-Key. */
export interface IdempotentResponse {
  readonly requestFingerprint: string;
  readonly status: number;
  readonly body: unknown;
}

const PSP_REFERENCE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** 16 uppercase alphanumerics, shaped like Adyen's pspReferences and tokens. */
export function newPspReference(): string {
  let reference = "";
  for (let index = 0; index < 16; index += 1) reference += PSP_REFERENCE_ALPHABET[randomInt(PSP_REFERENCE_ALPHABET.length)];
  return reference;
}

/** Session ids and redirect results are capabilities in URLs: 192 and 256 random bits. */
export const newSessionId = (): string => randomBytes(24).toString("base64url");
export const newRedirectResult = (): string => randomBytes(32).toString("base64url");

/** Everything the simulated Adyen account remembers: payments, their page sessions, tokens and idempotent answers. */
export class Ledger {
  private readonly payments = new Map<string, SimulatedPayment>();
  private readonly paymentsBySession = new Map<string, SimulatedPayment>();
  private readonly paymentsByRedirectResult = new Map<string, SimulatedPayment>();
  private readonly storedPaymentMethods = new Map<string, StoredPaymentMethod>();
  private readonly idempotentResponses = new Map<string, IdempotentResponse>();
  private readonly refunds = new Map<string, SimulatedRefund[]>();
  private readonly refusedAttempts = new Map<string, number>();

  addPayment(payment: SimulatedPayment): void {
    this.payments.set(payment.pspReference, payment);
    if (payment.session !== undefined) this.paymentsBySession.set(payment.session.id, payment);
  }

  get paymentCount(): number {
    return this.payments.size;
  }

  allPayments(): SimulatedPayment[] {
    return [...this.payments.values()];
  }

  paymentByPspReference(pspReference: string): SimulatedPayment | undefined {
    return this.payments.get(pspReference);
  }

  paymentBySession(sessionId: string): SimulatedPayment | undefined {
    return this.paymentsBySession.get(sessionId);
  }

  paymentByRedirectResult(redirectResult: string): SimulatedPayment | undefined {
    return this.paymentsByRedirectResult.get(redirectResult);
  }

  recordRedirectResult(payment: SimulatedPayment, redirectResult: string): void {
    this.paymentsByRedirectResult.set(redirectResult, payment);
  }

  addStoredPaymentMethod(method: StoredPaymentMethod): void {
    this.storedPaymentMethods.set(method.id, method);
  }

  storedPaymentMethod(id: string): StoredPaymentMethod | undefined {
    return this.storedPaymentMethods.get(id);
  }

  activeStoredPaymentMethods(shopperReference: string): StoredPaymentMethod[] {
    return [...this.storedPaymentMethods.values()].filter((method) => method.active && method.shopperReference === shopperReference);
  }

  addRefund(refund: SimulatedRefund): void {
    const refunds = this.refunds.get(refund.paymentPspReference) ?? [];
    refunds.push(refund);
    this.refunds.set(refund.paymentPspReference, refunds);
  }

  refundsOf(paymentPspReference: string): readonly SimulatedRefund[] {
    return this.refunds.get(paymentPspReference) ?? [];
  }

  /** What is left to refund of a payment: its amount less the refunds that still count. */
  refundableValue(payment: SimulatedPayment): number {
    return this.refundsOf(payment.pspReference).reduce(
      (left, refund) => (refund.counts ? left - refund.amount.value : left),
      payment.amount.value,
    );
  }

  get refundCount(): number {
    let count = 0;
    for (const refunds of this.refunds.values()) count += refunds.length;
    return count;
  }

  /** Counts the attempts of a request that a fault refuses (DOWN… refunds), so it can recover after a few. */
  refusedAttempt(key: string): number {
    const attempt = (this.refusedAttempts.get(key) ?? 0) + 1;
    this.refusedAttempts.set(key, attempt);
    return attempt;
  }

  idempotentResponse(scope: string): IdempotentResponse | undefined {
    return this.idempotentResponses.get(scope);
  }

  rememberIdempotentResponse(scope: string, response: IdempotentResponse): void {
    this.idempotentResponses.set(scope, response);
  }
}

/** The scope of an Idempotency-Key: the API key (hashed, so no secret is kept as a map key), the path and the key. */
export function idempotencyScope(apiKey: string, path: string, idempotencyKey: string): string {
  const apiKeyHash = createHash("sha256").update(apiKey).digest("hex");
  return `${apiKeyHash} ${path} ${idempotencyKey}`;
}

/** A request's identity for idempotency: its query and its JSON body with object keys sorted. */
export function requestFingerprint(query: string, body: unknown): string {
  return `${query}\n${canonicalJson(body)}`;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
