import type { ApiKeyName, PaymentId, PspReference, RefundId, StoredPaymentMethodId } from "./ids.js";
import type { Refund, RefundSignal } from "./refund.js";
import type { Amount, Channel, Payment, PaymentEvent, PaymentStatusChange } from "./payment.js";
import type { Notification, NotificationOutcome, StoredNotification } from "./notification.js";
import type { ProviderStoredPaymentMethod, StoredPaymentMethod } from "./stored-payment-method.js";
import type { WebhookAnomaly } from "./telemetry.js";
import type { PaymentSignal } from "./transitions.js";

/** A payment method an app can show. */
export interface PaymentMethodOffer {
  type: string;
  name: string;
  logoUrl: string | null;
}

/** Adyen's answer to /payments or /payments/details, reduced to what the gateway keeps. */
export interface ProviderPaymentResult {
  resultCode: string;
  pspReference: PspReference | null;
  refusalReason: string | null;
  action: unknown | null;
}

/**
 * The payment service provider (Adyen). Implementations throw GatewayError PROVIDER_REJECTED or
 * PROVIDER_UNAVAILABLE; `idempotencyKey` is derived from our own ids so a retry never pays twice.
 */
export interface PaymentProvider {
  listPaymentMethods(query: {
    amount: Amount;
    countryCode: string;
    shopperLocale: string | null;
    channel: Channel | null;
  }): Promise<PaymentMethodOffer[]>;
  startRedirectPayment(payment: Payment, idempotencyKey: string): Promise<ProviderPaymentResult>;
  submitDetails(details: Record<string, string>, idempotencyKey: string): Promise<ProviderPaymentResult>;
  /** /payments for a stored token: shopperInteraction ContAuth, no shopper present. */
  chargeStoredPaymentMethod(payment: Payment, idempotencyKey: string): Promise<ProviderPaymentResult>;
  /** The owner's shopper's tokens at Adyen: each key's shoppers are apart there, even with equal shopperReferences. */
  listStoredPaymentMethods(owner: ApiKeyName, shopperReference: string): Promise<ProviderStoredPaymentMethod[]>;
  /** Resolves also when Adyen no longer has the token: a retry after our write failed must end disabled. */
  disableStoredPaymentMethod(owner: ApiKeyName, id: StoredPaymentMethodId, shopperReference: string): Promise<void>;
  /** POST /payments/{pspReference}/refunds; Adyen's REFUND webhook decides the outcome. */
  refundPayment(payment: Payment, refund: Refund, idempotencyKey: string): Promise<{ pspReference: PspReference }>;
}

/** The fields of a payment fixed when it is created. */
export type NewPayment = Omit<
  Payment,
  | "status"
  | "version"
  | "resultCode"
  | "refusalReason"
  | "pspReference"
  | "action"
  | "authorisedByWebhook"
  | "detailsSubmittedAt"
  | "createdAt"
  | "updatedAt"
>;

/** A client's idempotency key for one operation, with a hash of the input it came with. */
export interface IdempotencyClaim {
  owner: ApiKeyName;
  key: string;
  operation: string;
  requestHash: string;
}

/** What a client's idempotency key was first used for. */
export interface IdempotencyRecord {
  operation: string;
  requestHash: string;
  paymentId: PaymentId;
  /** The operation's result is recorded: a repeat gets it without calling Adyen. */
  completed: boolean;
}

/** Where an idempotency key of an operation on an existing payment stands. */
export type IdempotencyState = "claimed" | "in_progress" | "completed" | "conflict";

export type CreatePaymentResult = { kind: "created"; payment: Payment } | { kind: "existing"; payment: Payment } | { kind: "conflict" };

/** Fields learnt from Adyen alongside a signal, stored in the same transaction. */
export interface ProviderFacts {
  pspReference?: PspReference | null;
  action?: unknown | null;
}

/** How a payment is found for a webhook: by pspReference, or by the merchant's reference while ours is unknown. */
export interface NotificationTarget {
  pspReference: string;
  merchantReference: string;
  amount: Amount | null;
}

export interface RecordedSignal {
  payment: Payment;
  /** Null when the status did not change. */
  change: PaymentStatusChange | null;
  /** A contradiction the rules found, for the caller to log as an error and count. */
  anomaly: WebhookAnomaly | null;
}

/** A lease someone holds: see PaymentStore.takeLease. */
export interface HeldLease {
  key: string;
  holder: string;
}

/** A lease to take with a new payment, on its id. */
export interface NewLease {
  holder: string;
  ttlMs: number;
}

/** A webhook item stored by receiveSignal, and what applying it did. */
export interface ReceivedSignal {
  /** The item's inbox id. */
  id: number;
  /** The item was stored before: nothing was written. */
  duplicate: boolean;
  /** Null when the item was not applied (a duplicate, or no payment has its pspReference): it stays in the inbox. */
  recorded: RecordedSignal | null;
}

/** Durable payment storage. Every method is atomic; async so that PostgreSQL fits behind it. */
export interface PaymentStore {
  /**
   * Writes the row (status null, version 0), or returns the payment an idempotency claim already made. With `lease`, a
   * row it writes comes with the lease on the payment's id taken for `lease.holder`, in the same write (see takeLease).
   */
  createPayment(payment: NewPayment, idempotency: IdempotencyClaim | null, lease?: NewLease): Promise<CreatePaymentResult>;
  getPayment(id: PaymentId): Promise<Payment | null>;
  /** The payment Adyen knows by this pspReference, if we stored it. */
  getPaymentByPspReference(pspReference: string): Promise<Payment | null>;
  /** What the owner's key was first used for, or null for a key never seen. */
  findIdempotencyKey(owner: ApiKeyName, key: string): Promise<IdempotencyRecord | null>;
  /**
   * Claims a key for an operation on an existing payment: "claimed" the first time, "in_progress" or
   * "completed" on a repeat with the same input, "conflict" with a different one.
   */
  claimIdempotencyKey(claim: IdempotencyClaim, paymentId: PaymentId): Promise<IdempotencyState>;
  /** Marks a claimed key as done: repeats then get the recorded result. */
  completeIdempotencyKey(claim: IdempotencyClaim): Promise<void>;
  /**
   * Runs the status rules on the current row and commits facts, status, version and event together.
   * Concurrent callers serialise: no update is lost and each change is returned to exactly one caller.
   */
  recordSignal(
    id: PaymentId,
    signal: PaymentSignal,
    facts: ProviderFacts,
    settles?: { notificationId: number },
    /** A lease to give back in the same write (as releaseLease), once Adyen's answer is recorded. */
    releases?: HeldLease,
  ): Promise<RecordedSignal>;
  /**
   * Stores a webhook item in the inbox (as NotificationInbox.save does) and, when a payment has the item's
   * pspReference, records the item's signal on it as recordSignal with `settles` does, in the same transaction: one
   * commit per webhook. The item is durable once this resolves, and applied at most once whoever races it.
   */
  receiveSignal(item: Notification, signal: PaymentSignal): Promise<ReceivedSignal>;
  /**
   * The payment a webhook is about: by pspReference, else the single payment with that reference (and amount, when
   * the target has one) whose pspReference we do not know yet, created within the session lifetime and not
   * expired. Null when there is none, or more than one.
   */
  findPaymentFor(target: NotificationTarget): Promise<Payment | null>;
  /** The owner's payment with this pspReference; null when there is none or it is another key's. */
  findOwnPaymentByPspReference(owner: ApiKeyName, pspReference: string): Promise<Payment | null>;
  /**
   * Marks as expired the rows whose /payments call failed for good (status null, version 0, no pspReference) and
   * that are older than the session lifetime; returns their ids. They stay invisible.
   */
  expireOrphans(): Promise<PaymentId[]>;
  /** The recorded changes after `afterVersion`, oldest first. */
  listEvents(id: PaymentId, afterVersion: number): Promise<PaymentEvent[]>;
  /**
   * Takes the lease on `key` for `ttlMs` unless another holder has it unexpired; true when taken. Across every
   * instance on one database, at most one holder at a time runs the work a key names (one Adyen call).
   */
  takeLease(key: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease back, if `holder` still has it. */
  releaseLease(key: string, holder: string): Promise<void>;
  /** Resolves when the database commits a write (a probe that changes nothing): what /readyz reports. */
  ping(): Promise<void>;
}

export type CreateRefundResult =
  | { kind: "created"; refund: Refund; change: PaymentStatusChange }
  | { kind: "existing"; refund: Refund }
  | { kind: "conflict" };

/** How a refund webhook finds its refund: by its own pspReference, or by the payment's and the refund's reference. */
export interface RefundTarget {
  pspReference: string;
  /** The payment's pspReference (the item's originalReference). */
  paymentPspReference: string;
  merchantReference: string;
}

/** Refunds, stored with their payment: each change bumps the payment's version and is one PaymentEvent. */
export interface RefundStore {
  /**
   * In one transaction: reads the owner's payment and its refunds, lets `plan` decide (it throws to refuse), writes
   * the refund PENDING (reserving its amount), bumps the payment's version and records the event. With a claim, a
   * repeat returns the refund the first request made. Concurrent calls for one payment serialise.
   */
  createRefund(
    paymentId: PaymentId,
    plan: (payment: Payment, refunds: readonly Refund[]) => { amount: Amount; reference: string },
    draft: { id: RefundId; nextSendAt: Date },
    idempotency: IdempotencyClaim | null,
  ): Promise<CreateRefundResult>;
  /** Runs the refund rules on the current row; a status change bumps the payment's version and is one event. */
  recordRefundSignal(id: RefundId, signal: RefundSignal, settles?: { notificationId: number }): Promise<RecordedRefundSignal>;
  /** A refund made elsewhere (the Customer Area), learnt from its REFUND webhook: SUCCEEDED, source WEBHOOK, in one change. */
  recordExternalRefund(
    paymentId: PaymentId,
    refund: { id: RefundId; amount: Amount; reference: string; pspReference: PspReference },
    settles: { notificationId: number },
  ): Promise<RecordedRefundSignal>;
  findRefundFor(target: RefundTarget): Promise<Refund | null>;
  getRefund(id: RefundId): Promise<Refund | null>;
  listRefunds(paymentId: PaymentId): Promise<Refund[]>;
  /**
   * Takes the API refunds Adyen has not answered yet whose next send is due, oldest first, and moves their next send
   * to `leaseUntil` in the same transaction: two re-senders, in one instance or in two, never take one refund at once,
   * and one that dies holding it leaves it due again at `leaseUntil`.
   */
  takeDueRefunds(now: Date, limit: number, leaseUntil: Date): Promise<Refund[]>;
  /** Records a failed send: it is tried again at `nextSendAt`. */
  scheduleResend(id: RefundId, nextSendAt: Date): Promise<void>;
}

export interface RecordedRefundSignal {
  refund: Refund;
  /** Null when the rules decided "no change". */
  change: PaymentStatusChange | null;
}

/** Recurring tokens. */
export interface StoredPaymentMethodStore {
  /**
   * Records a token once: a second call for the same id changes nothing and returns the first. With `settles`,
   * the inbox item is marked applied in the same transaction.
   */
  recordToken(
    token: Pick<StoredPaymentMethod, "id" | "owner" | "shopperReference" | "type" | "originalPaymentId">,
    settles?: { notificationId: number },
  ): Promise<{ method: StoredPaymentMethod; created: boolean }>;
  getToken(id: StoredPaymentMethodId): Promise<StoredPaymentMethod | null>;
  /** The owner's tokens for one shopper, active and disabled, oldest first. */
  listTokens(owner: ApiKeyName, shopperReference: string): Promise<StoredPaymentMethod[]>;
  disableToken(id: StoredPaymentMethodId): Promise<StoredPaymentMethod>;
}

/** The durable webhook inbox. */
export interface NotificationInbox {
  /**
   * Stores the items in one durable transaction and returns their ids; an item already stored (same
   * pspReference, eventCode, success and originalReference) comes back with `duplicate: true`.
   */
  save(items: Notification[]): Promise<Array<{ id: number; duplicate: boolean }>>;
  /** How many items are not applied yet: a growing number is an alert (docs/contract.md, Operations). */
  countUnapplied(): Promise<number>;
  /** Items not applied yet about one pspReference (or naming it as original), oldest first. */
  unapplied(pspReference: string): Promise<StoredNotification[]>;
  /**
   * Takes one page of the items not applied yet whose backoff has passed at `now`, with an id above `afterId`, oldest
   * first, at most `limit`; in the same transaction counts an attempt at each and defers its next one to `now` +
   * backoffMs doubled per earlier attempt, at most maxBackoffMs. Two sweeps, in one instance or in two, never take
   * one item at once.
   */
  take(now: Date, afterId: number, limit: number, backoff: { backoffMs: number; maxBackoffMs: number }): Promise<StoredNotification[]>;
  /** Marks an item as done without a payment change. */
  settle(id: number, outcome: NotificationOutcome): Promise<void>;
}

/** Where committed status changes go, to reach subscribers (in this process, or every instance through Redis). */
export interface StatusEvents {
  publish(change: PaymentStatusChange): void;
}

/** A live stream of one payment's changes. It listens from the moment it is created and buffers until read. */
export interface StatusSubscription extends AsyncIterable<PaymentStatusChange> {
  close(): void;
}

export interface StatusFeed extends StatusEvents {
  subscribe(paymentId: PaymentId): StatusSubscription;
}
