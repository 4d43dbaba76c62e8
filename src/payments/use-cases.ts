import { createHash } from "node:crypto";
import type { ClientSecrets, Principal } from "./client-secret.js";
import { badInput, ErrorCode, GatewayError, notFound } from "./errors.js";
import { type ApiKeyName, newPaymentId, type PaymentId, type StoredPaymentMethodId } from "./ids.js";
import {
  checkAmount,
  checkCountryCode,
  checkCurrencyCode,
  checkDetails,
  checkIdempotencyKey,
  checkKakaoPayCurrency,
  checkReference,
  checkShopperLocale,
  checkShopperReference,
  checkText,
  type ReturnUrlPolicy,
} from "./input.js";
import {
  type Amount,
  type Channel,
  isVisible,
  KAKAOPAY,
  type Payment,
  type PaymentEvent,
  type PaymentStatusChange,
  type RecurringProcessingModel,
  type VisiblePayment,
} from "./payment.js";
import type {
  IdempotencyClaim,
  NewPayment,
  PaymentMethodOffer,
  PaymentProvider,
  PaymentStore,
  ProviderPaymentResult,
  StatusFeed,
  StatusSubscription,
  StoredPaymentMethodStore,
} from "./ports.js";
import { isFinal } from "./status.js";
import { EventSource } from "./status.js";

/** Everything the use cases need, passed in once by the composition root. */
export interface PaymentDeps {
  store: PaymentStore;
  tokens: StoredPaymentMethodStore;
  provider: PaymentProvider;
  events: StatusFeed;
  returnUrls: ReturnUrlPolicy;
  clientSecrets: ClientSecrets;
  /** Webhooks that arrived before we knew the payment's pspReference wait for it here. */
  webhooks: { applyUnapplied(pspReference: string): Promise<void> };
}

export interface ChargeStoredPaymentMethodInput {
  storedPaymentMethodId: string;
  shopperReference: string;
  amount: Amount;
  reference: string;
  recurringProcessingModel: RecurringProcessingModel;
  idempotencyKey?: string | null;
}

export interface StartKakaoPayPaymentInput {
  amount: Amount;
  reference: string;
  returnUrl: string;
  countryCode?: string | null;
  shopperLocale?: string | null;
  channel?: Channel | null;
  shopperReference?: string | null;
  storePaymentMethod?: boolean | null;
  idempotencyKey?: string | null;
}

/** The payment use cases: each validates, writes before it calls Adyen, and publishes what it committed. */
export class Payments {
  /** In-flight Adyen calls per payment (or per payment and details), so concurrent retries make one call. */
  private readonly inFlight = new Map<string, Promise<VisiblePayment>>();

  constructor(private readonly deps: PaymentDeps) {}

  async listPaymentMethods(query: {
    amount: Amount;
    countryCode: string;
    shopperLocale?: string | null;
    channel?: Channel | null;
  }): Promise<PaymentMethodOffer[]> {
    checkAmount(query.amount, "input.amount");
    checkCurrencyCode(query.amount, "input.amount");
    checkCountryCode(query.countryCode, "input.countryCode");
    if (query.shopperLocale != null) checkShopperLocale(query.shopperLocale, "input.shopperLocale");
    return this.deps.provider.listPaymentMethods({
      amount: query.amount,
      countryCode: query.countryCode,
      shopperLocale: query.shopperLocale ?? null,
      channel: query.channel ?? null,
    });
  }

  async startKakaoPayPayment(owner: ApiKeyName, input: StartKakaoPayPaymentInput): Promise<VisiblePayment> {
    checkAmount(input.amount, "input.amount");
    checkKakaoPayCurrency(input.amount, "input.amount");
    checkReference(input.reference, "input.reference");
    this.deps.returnUrls.check(input.returnUrl, "input.returnUrl");
    const countryCode = input.countryCode ?? "KR";
    checkCountryCode(countryCode, "input.countryCode");
    if (countryCode !== "KR")
      throw new GatewayError(ErrorCode.BAD_USER_INPUT, "KakaoPay is available in KR only", { field: "input.countryCode" });
    if (input.shopperLocale != null) checkShopperLocale(input.shopperLocale, "input.shopperLocale");
    if (input.shopperReference != null) checkShopperReference(input.shopperReference, "input.shopperReference");
    const storePaymentMethod = input.storePaymentMethod ?? false;
    if (storePaymentMethod && input.shopperReference == null) {
      throw new GatewayError(ErrorCode.BAD_USER_INPUT, "storePaymentMethod needs a shopperReference", {
        field: "input.shopperReference",
      });
    }
    if (input.idempotencyKey != null) checkIdempotencyKey(input.idempotencyKey, "input.idempotencyKey");

    const terms = {
      reference: input.reference,
      amount: { value: input.amount.value, currency: input.amount.currency },
      returnUrl: input.returnUrl,
      countryCode,
      shopperLocale: input.shopperLocale ?? null,
      channel: input.channel ?? null,
      shopperReference: input.shopperReference ?? null,
      storePaymentMethod,
      storedPaymentMethodId: null,
      recurringProcessingModel: null,
    };
    const claim = idempotencyClaim(owner, "startKakaoPayPayment", input.idempotencyKey, terms);
    const payment = await this.createOrResume(owner, terms, claim);
    if (isVisible(payment)) return payment;
    return this.once(payment.id, () =>
      this.record(payment.id, EventSource.API, () => this.deps.provider.startRedirectPayment(payment, `${payment.id}:payments`)),
    );
  }

  /**
   * Charges a stored KakaoPay token with no shopper present (ContAuth). A disabled, unknown or other shopper's
   * token is refused before Adyen is called.
   */
  async chargeStoredPaymentMethod(owner: ApiKeyName, input: ChargeStoredPaymentMethodInput): Promise<VisiblePayment> {
    checkText(input.storedPaymentMethodId, "input.storedPaymentMethodId", 1, 64);
    checkShopperReference(input.shopperReference, "input.shopperReference");
    checkAmount(input.amount, "input.amount");
    checkKakaoPayCurrency(input.amount, "input.amount");
    checkReference(input.reference, "input.reference");
    if (input.idempotencyKey != null) checkIdempotencyKey(input.idempotencyKey, "input.idempotencyKey");
    const token = await this.deps.tokens.getToken(input.storedPaymentMethodId as StoredPaymentMethodId);
    if (!token || token.owner !== owner || token.shopperReference !== input.shopperReference) {
      throw notFound("stored payment method");
    }
    if (!token.active) throw new GatewayError(ErrorCode.INVALID_STATE, "this stored payment method is disabled");
    const original = token.originalPaymentId ? await this.deps.store.getPayment(token.originalPaymentId) : null;

    const terms = {
      reference: input.reference,
      amount: { value: input.amount.value, currency: input.amount.currency },
      countryCode: "KR",
      shopperLocale: null,
      channel: null,
      shopperReference: input.shopperReference,
      storePaymentMethod: false,
      storedPaymentMethodId: token.id,
      recurringProcessingModel: input.recurringProcessingModel,
    };
    const claim = idempotencyClaim(owner, "chargeStoredPaymentMethod", input.idempotencyKey, terms);
    // Adyen's spec asks every /payments for a returnUrl; a ContAuth charge never redirects, so the first one serves.
    const returnUrl = original?.returnUrl ?? null;
    const payment = await this.createOrResume(owner, { ...terms, returnUrl }, claim);
    if (isVisible(payment)) return payment;
    return this.once(payment.id, () =>
      this.record(payment.id, EventSource.API, () => this.deps.provider.chargeStoredPaymentMethod(payment, `${payment.id}:payments`)),
    );
  }

  /**
   * Sends the details the app got back from the redirect. A final payment is returned as it is (the webhook often
   * wins the race); identical concurrent submissions make one Adyen call.
   */
  async submitPaymentDetails(
    caller: Principal,
    input: { paymentId: string; details: unknown; idempotencyKey?: string | null },
  ): Promise<VisiblePayment> {
    const details = checkDetails(input.details, "input.details");
    if (input.idempotencyKey != null) checkIdempotencyKey(input.idempotencyKey, "input.idempotencyKey");
    const payment = await this.getOwned(caller, input.paymentId);
    if (!payment) throw notFound("payment");
    // Keys are scoped to the payment's API key, whether its server or its app (client secret) sends them.
    const owner = payment.owner;
    if (payment.storedPaymentMethodId !== null) {
      throw new GatewayError(ErrorCode.INVALID_STATE, "this payment never asked for details");
    }
    const detailsHash = sha256(JSON.stringify(details)).slice(0, 24);
    const claim = idempotencyClaim(owner, "submitPaymentDetails", input.idempotencyKey, { paymentId: payment.id, details });
    if (claim) {
      const state = await this.deps.store.claimIdempotencyKey(claim, payment.id);
      if (state === "conflict") throw idempotencyConflict();
      if (state === "completed") return payment;
    }
    if (isFinal(payment.status)) return payment;
    // Adyen takes at most 64 characters: our 26-character id and 96 bits of the details' hash.
    const key = `${payment.id}:details:${detailsHash}`;
    const result = await this.once(key, async () => {
      const recorded = await this.record(payment.id, EventSource.REDIRECT, async () => {
        const answer = await this.deps.provider.submitDetails(details, key);
        // A redirectResult from another payment must never settle this one.
        if (payment.pspReference !== null && answer.pspReference !== null && answer.pspReference !== payment.pspReference) {
          throw new GatewayError(ErrorCode.INVALID_STATE, "these details belong to another payment", { field: "input.details" });
        }
        return answer;
      });
      // Completed before the in-flight entry goes: a repeat arriving now finds the key done, not in progress.
      if (claim) await this.deps.store.completeIdempotencyKey(claim);
      return recorded;
    });
    // Requests that joined the call under another key of their own complete theirs too.
    if (claim) await this.deps.store.completeIdempotencyKey(claim);
    return result;
  }

  /**
   * The caller's payment, or null: another key's payment does not exist for a server key, and a client secret sees
   * only the one payment it was derived for.
   */
  async getOwned(caller: Principal, id: string): Promise<VisiblePayment | null> {
    const accessible = caller.kind === "server" || caller.paymentId === id;
    const payment = accessible ? await this.deps.store.getPayment(id as PaymentId) : null;
    if (!payment || !isVisible(payment)) return null;
    if (caller.kind === "server" && payment.owner !== caller.owner) return null;
    return payment;
  }

  /** Payment.clientSecret: for the payment's own server key only, so a client secret never yields another one. */
  clientSecretFor(caller: Principal, payment: Payment): string | null {
    if (caller.kind !== "server" || caller.owner !== payment.owner) return null;
    return this.deps.clientSecrets.secretFor(payment);
  }

  events(payment: Payment, afterVersion = 0): Promise<PaymentEvent[]> {
    return this.deps.store.listEvents(payment.id, afterVersion);
  }

  /**
   * The caller's view of one payment's status changes. With `afterVersion`, the recorded changes after it come
   * first, then live ones: the live feed is opened before history is read, so there is no gap and, with
   * versions compared, no duplicate.
   */
  async watchStatus(caller: Principal, paymentId: string, afterVersion: number | null): Promise<AsyncIterable<PaymentStatusChange>> {
    if (afterVersion !== null && (!Number.isSafeInteger(afterVersion) || afterVersion < 0)) {
      throw badInput("afterVersion", "afterVersion must be a non-negative integer");
    }
    const subscription = this.deps.events.subscribe(paymentId as PaymentId);
    try {
      const payment = await this.getOwned(caller, paymentId);
      if (!payment) throw notFound("payment");
      return this.replayThenLive(payment, subscription, afterVersion ?? payment.version);
    } catch (error) {
      subscription.close();
      throw error;
    }
  }

  private async *replayThenLive(
    payment: VisiblePayment,
    subscription: StatusSubscription,
    afterVersion: number,
  ): AsyncGenerator<PaymentStatusChange> {
    let last = afterVersion;
    try {
      for (const event of await this.deps.store.listEvents(payment.id, last)) {
        yield { payment, event };
        last = event.version;
      }
      for await (const change of subscription) {
        if (change.event.version <= last) continue;
        if (change.event.version > last + 1) {
          // Changes we were not told about (e.g. published by another process): fill them in from the store.
          for (const event of await this.deps.store.listEvents(payment.id, last)) {
            if (event.version >= change.event.version) break;
            yield { payment: change.payment, event };
            last = event.version;
          }
        }
        yield change;
        last = change.event.version;
      }
    } finally {
      subscription.close();
    }
  }

  /** Writes a new payment row, or finds the one an earlier request with the same idempotency key made. */
  private async createOrResume(
    owner: ApiKeyName,
    terms: Omit<NewPayment, "id" | "owner" | "paymentMethodType">,
    claim: IdempotencyClaim | null,
  ): Promise<Payment> {
    const created = await this.deps.store.createPayment({ ...terms, id: newPaymentId(), owner, paymentMethodType: KAKAOPAY }, claim);
    if (created.kind === "conflict") throw idempotencyConflict();
    return created.payment;
  }

  /** Calls Adyen, then commits its answer through the status rules and publishes the change. */
  private async record(
    id: PaymentId,
    source: typeof EventSource.API | typeof EventSource.REDIRECT,
    call: () => Promise<ProviderPaymentResult>,
  ): Promise<VisiblePayment> {
    const result = await call();
    const recorded = await this.deps.store.recordSignal(
      id,
      { source, resultCode: result.resultCode, refusalReason: result.refusalReason },
      { pspReference: result.pspReference, action: result.action },
    );
    if (recorded.change) this.deps.events.publish(recorded.change);
    if (result.pspReference) await this.deps.webhooks.applyUnapplied(result.pspReference);
    // Re-read: a webhook that was waiting for this pspReference may just have moved the payment on.
    const payment = await this.deps.store.getPayment(id);
    if (!payment || !isVisible(payment)) throw new Error(`payment ${id} has no status after Adyen answered`);
    return payment;
  }

  private once(id: string, run: () => Promise<VisiblePayment>): Promise<VisiblePayment> {
    const running = this.inFlight.get(id);
    if (running) return running;
    const promise = run().finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, promise);
    return promise;
  }
}

function idempotencyConflict(): GatewayError {
  return new GatewayError(ErrorCode.IDEMPOTENCY_CONFLICT, "idempotencyKey was already used with a different input", {
    field: "input.idempotencyKey",
  });
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function idempotencyClaim(owner: ApiKeyName, operation: string, key: string | null | undefined, input: unknown): IdempotencyClaim | null {
  if (key == null) return null;
  return { owner, key, operation, requestHash: sha256(JSON.stringify(input)) };
}
