import { randomUUID } from "node:crypto";
import { canonicalHash } from "./canonical-json.js";
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
  paymentAsOf,
  type PaymentEvent,
  type PaymentStatusChange,
  type RecurringProcessingModel,
  type VisiblePayment,
} from "./payment.js";
import type {
  HeldLease,
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
import { EventSource } from "./status.js";

/** How long one instance may hold an Adyen call for a payment before another may take it over (a crash). */
const PROVIDER_CALL_LEASE_MS = 30_000;
/** How often an instance waiting for another's Adyen call looks whether it finished. */
const LEASE_POLL_MS = 50;

/** A payment row this request wrote or found, and the lease on its Adyen call when it wrote it. */
interface Created {
  payment: Payment;
  lease: HeldLease | null;
}

/** Everything the use cases need, passed in once by the composition root. */
export interface PaymentDeps {
  store: PaymentStore;
  tokens: StoredPaymentMethodStore;
  provider: PaymentProvider;
  events: StatusFeed;
  returnUrls: ReturnUrlPolicy;
  clientSecrets: ClientSecrets;
  /** Webhooks that arrived before we knew the payment's pspReference wait for it here. */
  webhooks: { applyUnapplied(pspReference: string): Promise<boolean> };
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
    if (input.idempotencyKey != null) checkIdempotencyKey(input.idempotencyKey, "input.idempotencyKey");
    const countryCode = input.countryCode ?? "KR";
    const storePaymentMethod = input.storePaymentMethod ?? false;
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
    const repeat = await this.repeatOf(claim);
    // Only a new key is checked: a repeat's input passed these checks once and may not now (a changed allowlist).
    if (!repeat) {
      checkAmount(input.amount, "input.amount");
      checkKakaoPayCurrency(input.amount, "input.amount");
      checkReference(input.reference, "input.reference");
      this.deps.returnUrls.check(input.returnUrl, "input.returnUrl");
      checkCountryCode(countryCode, "input.countryCode");
      if (countryCode !== "KR")
        throw new GatewayError(ErrorCode.BAD_USER_INPUT, "KakaoPay is available in KR only", { field: "input.countryCode" });
      if (input.shopperLocale != null) checkShopperLocale(input.shopperLocale, "input.shopperLocale");
      if (input.shopperReference != null) checkShopperReference(input.shopperReference, "input.shopperReference");
      if (storePaymentMethod && input.shopperReference == null) {
        throw new GatewayError(ErrorCode.BAD_USER_INPUT, "storePaymentMethod needs a shopperReference", {
          field: "input.shopperReference",
        });
      }
    }
    const { payment, lease } = repeat ? { payment: repeat.payment, lease: null } : await this.createOrResume(owner, terms, claim);
    if (isVisible(payment)) return payment;
    return this.once(
      payment.id,
      (held) =>
        this.record(payment.id, EventSource.API, held, () => this.deps.provider.startRedirectPayment(payment, `${payment.id}:payments`)),
      () => this.answered(payment.id),
      lease,
    ).catch(explainUnavailable(payment.id, claim ? "sameKey" : "unknownOutcome"));
  }

  /**
   * Charges a stored KakaoPay token with no shopper present (ContAuth). A disabled, unknown or other shopper's
   * token is refused before Adyen is called.
   */
  async chargeStoredPaymentMethod(owner: ApiKeyName, input: ChargeStoredPaymentMethodInput): Promise<VisiblePayment> {
    if (input.idempotencyKey != null) checkIdempotencyKey(input.idempotencyKey, "input.idempotencyKey");
    const terms = {
      reference: input.reference,
      amount: { value: input.amount.value, currency: input.amount.currency },
      countryCode: "KR",
      shopperLocale: null,
      channel: null,
      shopperReference: input.shopperReference,
      storePaymentMethod: false,
      storedPaymentMethodId: input.storedPaymentMethodId as StoredPaymentMethodId,
      recurringProcessingModel: input.recurringProcessingModel,
    };
    const claim = idempotencyClaim(owner, "chargeStoredPaymentMethod", input.idempotencyKey, terms);
    // A repeat is the charge the first request made, even if the token has been disabled since: the token is not
    // looked at again. One whose first answer never came is completed with the same Adyen Idempotency-Key.
    const repeat = await this.repeatOf(claim);
    const { payment, lease } = repeat ? { payment: repeat.payment, lease: null } : await this.createCharge(owner, input, terms, claim);
    if (isVisible(payment)) return payment;
    return this.once(
      payment.id,
      (held) =>
        this.record(payment.id, EventSource.API, held, () =>
          this.deps.provider.chargeStoredPaymentMethod(payment, `${payment.id}:payments`),
        ),
      () => this.answered(payment.id),
      lease,
    ).catch(explainUnavailable(payment.id, claim ? "sameKey" : "unknownOutcome"));
  }

  /** A new charge's checks and row: the token must be the owner's, for this shopper, and active. */
  private async createCharge(
    owner: ApiKeyName,
    input: ChargeStoredPaymentMethodInput,
    terms: Omit<NewPayment, "id" | "owner" | "paymentMethodType" | "returnUrl">,
    claim: IdempotencyClaim | null,
  ): Promise<Created> {
    checkText(input.storedPaymentMethodId, "input.storedPaymentMethodId", 1, 64);
    checkShopperReference(input.shopperReference, "input.shopperReference");
    checkAmount(input.amount, "input.amount");
    checkKakaoPayCurrency(input.amount, "input.amount");
    checkReference(input.reference, "input.reference");
    const token = await this.deps.tokens.getToken(input.storedPaymentMethodId as StoredPaymentMethodId);
    if (!token || token.owner !== owner || token.shopperReference !== input.shopperReference) {
      throw notFound("stored payment method");
    }
    if (!token.active) throw new GatewayError(ErrorCode.INVALID_STATE, "this stored payment method is disabled");
    const original = token.originalPaymentId ? await this.deps.store.getPayment(token.originalPaymentId) : null;
    // Adyen's spec asks every /payments for a returnUrl; a ContAuth charge never redirects, so the first one serves.
    return this.createOrResume(owner, { ...terms, returnUrl: original?.returnUrl ?? null }, claim);
  }

  /**
   * Sends the details the app got back from the redirect to Adyen once per payment, whatever the webhooks did meanwhile
   * (docs/contract.md, Status rules); a repeat returns the payment as it is. Identical concurrent submissions make one call.
   */
  async submitPaymentDetails(
    caller: Principal,
    input: { paymentId: string; details: unknown; idempotencyKey?: string | null },
  ): Promise<VisiblePayment> {
    if (input.idempotencyKey != null) checkIdempotencyKey(input.idempotencyKey, "input.idempotencyKey");
    // Keys are scoped to the payment's API key, whether its server or its app (client secret) sends them: an app's
    // is the owner of the one payment its secret opens.
    const owner = caller.kind === "server" ? caller.owner : (await this.getOwned(caller, input.paymentId))?.owner;
    if (!owner) throw notFound("payment");
    const claim = idempotencyClaim(owner, "submitPaymentDetails", input.idempotencyKey, {
      paymentId: input.paymentId,
      details: input.details,
    });
    // A repeat of a submission that completed is answered before any check; one still running joins it below.
    const repeat = await this.repeatOf(claim);
    if (repeat?.completed && isVisible(repeat.payment)) return repeat.payment;
    const details = checkDetails(input.details, "input.details");
    const payment = await this.getOwned(caller, input.paymentId);
    if (!payment) throw notFound("payment");
    if (payment.storedPaymentMethodId !== null) {
      throw new GatewayError(ErrorCode.INVALID_STATE, "this payment never asked for details");
    }
    const detailsHash = canonicalHash(details).slice(0, 24);
    if (claim) {
      const state = await this.deps.store.claimIdempotencyKey(claim, payment.id);
      if (state === "conflict") throw idempotencyConflict();
      if (state === "completed") return payment;
    }
    // Sent once: also after a webhook settled the payment (its answer may refine the status), never again after.
    if (payment.detailsSubmittedAt !== null) return payment;
    // Adyen takes at most 64 characters: our 26-character id and 96 bits of the details' hash.
    const key = `${payment.id}:details:${detailsHash}`;
    const result = await this.once(
      key,
      async (held) => {
        const recorded = await this.record(payment.id, EventSource.REDIRECT, held, async () => {
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
      },
      async () => {
        const current = await this.deps.store.getPayment(payment.id);
        return current && isVisible(current) && current.detailsSubmittedAt !== null ? current : null;
      },
    ).catch(explainUnavailable(payment.id, "sameDetails"));
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

  /** The payment's events up to its version: a payment as of an event (see watchStatus) has no later ones. */
  async events(payment: Payment, afterVersion = 0): Promise<PaymentEvent[]> {
    const events = await this.deps.store.listEvents(payment.id, afterVersion);
    return events.filter((event) => event.version <= payment.version);
  }

  /**
   * The caller's view of one payment's status changes. With `afterVersion`, the recorded changes after it come
   * first, then live ones: the live feed is opened before history is read, so there is no gap and, with
   * versions compared, no duplicate. Each change carries the payment as of that change (paymentAsOf), replayed or
   * live alike.
   */
  async watchStatus(caller: Principal, paymentId: string, afterVersion: number | null): Promise<AsyncIterable<PaymentStatusChange>> {
    if (afterVersion !== null && (!Number.isSafeInteger(afterVersion) || afterVersion < 0)) {
      throw badInput("afterVersion", "afterVersion must be a non-negative integer");
    }
    const subscription = this.deps.events.subscribe(paymentId as PaymentId);
    try {
      const payment = await this.getOwned(caller, paymentId);
      if (!payment) throw notFound("payment");
      // Versions only grow: one above the current would silently hold back every live change until it is passed.
      if (afterVersion !== null && afterVersion > payment.version) {
        throw badInput("afterVersion", `afterVersion must be at most the payment's version (${payment.version})`);
      }
      return releasing(this.replayThenLive(payment, subscription, afterVersion ?? payment.version), subscription);
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
    let latest = payment;
    // The payment's resultCode as of the last change folded (each change that carried one set it).
    let resultCode = payment.resultCode;
    const asOf = (event: PaymentEvent): PaymentStatusChange => {
      resultCode = event.resultCode ?? resultCode;
      return { payment: paymentAsOf(latest, event, resultCode), event };
    };
    /** The recorded changes after `last` and before `until`, each as of itself; the earlier ones are only folded. */
    const missed = async (until: number): Promise<PaymentStatusChange[]> => {
      resultCode = null;
      const changes: PaymentStatusChange[] = [];
      for (const event of await this.deps.store.listEvents(payment.id, 0)) {
        if (event.version >= until) break;
        const change = asOf(event);
        if (event.version > last) changes.push(change);
      }
      return changes;
    };
    try {
      // Nothing to replay when the client is up to date: live changes follow `payment` itself.
      if (last < payment.version) {
        for (const change of await missed(Number.POSITIVE_INFINITY)) {
          yield change;
          last = change.event.version;
        }
      }
      for await (const change of subscription) {
        if (change.event.version <= last) continue;
        if (change.payment.version > latest.version) latest = change.payment;
        // Changes we were not told about (e.g. published by another process): fill them in from the store.
        if (change.event.version > last + 1) {
          for (const filled of await missed(change.event.version)) {
            yield filled;
            last = filled.event.version;
          }
        }
        yield asOf(change.event);
        last = change.event.version;
      }
    } finally {
      subscription.close();
    }
  }

  /**
   * The payment an earlier request with the claim's key made, as it is now, or null for a new key; the key used with
   * another input is IDEMPOTENCY_CONFLICT. Looked up before any other check, so a repeat never gets an error the first
   * request did not get (the checks it passed may not pass now).
   */
  private async repeatOf(claim: IdempotencyClaim | null): Promise<{ payment: Payment; completed: boolean } | null> {
    if (!claim) return null;
    const first = await this.deps.store.findIdempotencyKey(claim.owner, claim.key);
    if (!first) return null;
    if (first.operation !== claim.operation || first.requestHash !== claim.requestHash) throw idempotencyConflict();
    const payment = await this.deps.store.getPayment(first.paymentId);
    if (!payment) throw new Error(`idempotency key points at missing payment ${first.paymentId}`);
    return { payment, completed: first.completed };
  }

  /**
   * Writes a new payment row, with the lease on its Adyen call taken in the same write; or finds the one an earlier
   * request with the same idempotency key made (and holds no lease on it).
   */
  private async createOrResume(
    owner: ApiKeyName,
    terms: Omit<NewPayment, "id" | "owner" | "paymentMethodType">,
    claim: IdempotencyClaim | null,
  ): Promise<Created> {
    const id = newPaymentId();
    const holder = randomUUID();
    const created = await this.deps.store.createPayment({ ...terms, id, owner, paymentMethodType: KAKAOPAY }, claim, {
      holder,
      ttlMs: PROVIDER_CALL_LEASE_MS,
    });
    if (created.kind === "conflict") throw idempotencyConflict();
    return { payment: created.payment, lease: created.kind === "created" ? { key: id, holder } : null };
  }

  /** Calls Adyen, then commits its answer through the status rules (giving back the lease) and publishes the change. */
  private async record(
    id: PaymentId,
    source: typeof EventSource.API | typeof EventSource.REDIRECT,
    lease: HeldLease,
    call: () => Promise<ProviderPaymentResult>,
  ): Promise<VisiblePayment> {
    const result = await call();
    const recorded = await this.deps.store.recordSignal(
      id,
      { source, resultCode: result.resultCode, refusalReason: result.refusalReason },
      { pspReference: result.pspReference, action: result.action },
      undefined,
      lease,
    );
    if (recorded.change) this.deps.events.publish(recorded.change);
    const waiting = result.pspReference ? await this.deps.webhooks.applyUnapplied(result.pspReference) : false;
    // Re-read only when webhooks were waiting for this pspReference: they may just have moved the payment on.
    const payment = waiting ? await this.deps.store.getPayment(id) : recorded.payment;
    if (!payment || !isVisible(payment)) throw new Error(`payment ${id} has no status after Adyen answered`);
    return payment;
  }

  /** The payment once Adyen's answer to /payments is recorded (here or by another instance), else null. */
  private async answered(id: PaymentId): Promise<VisiblePayment | null> {
    const payment = await this.deps.store.getPayment(id);
    return payment && isVisible(payment) ? payment : null;
  }

  /**
   * Runs `run` once for concurrent callers of one key: in this process they join one promise; across instances the
   * store's lease admits one, and the others wait until `finished` finds its result (or the lease of one that died
   * expires, and one of them takes over). Adyen is called once either way. `held` is the lease when the caller took
   * it already (with the payment's row); `run` gives it back with its write of Adyen's answer.
   */
  private once(
    key: string,
    run: (lease: HeldLease) => Promise<VisiblePayment>,
    finished: () => Promise<VisiblePayment | null>,
    held: HeldLease | null = null,
  ): Promise<VisiblePayment> {
    const running = this.inFlight.get(key);
    if (running) return running;
    const promise = (held ? this.holding(held, run) : this.leased(key, run, finished)).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return promise;
  }

  private async leased(
    key: string,
    run: (lease: HeldLease) => Promise<VisiblePayment>,
    finished: () => Promise<VisiblePayment | null>,
  ): Promise<VisiblePayment> {
    const lease = { key, holder: randomUUID() };
    for (;;) {
      if (await this.deps.store.takeLease(key, lease.holder, PROVIDER_CALL_LEASE_MS)) {
        return this.holding(lease, async () => {
          // The holder before us may have finished between our last look and the lease.
          const done = await finished();
          if (!done) return run(lease);
          await this.deps.store.releaseLease(key, lease.holder);
          return done;
        });
      }
      const done = await finished();
      if (done) return done;
      await new Promise((resolve) => setTimeout(resolve, LEASE_POLL_MS));
    }
  }

  /** `run` under a lease we hold: it gives the lease back when it succeeds; on a failure it is given back here. */
  private async holding(lease: HeldLease, run: (lease: HeldLease) => Promise<VisiblePayment>): Promise<VisiblePayment> {
    try {
      return await run(lease);
    } catch (error) {
      await this.deps.store.releaseLease(lease.key, lease.holder);
      throw error;
    }
  }
}

/**
 * The generator, with a `return` that releases the subscription at once. An async generator's own `return` waits
 * while the generator awaits (for ever, on a payment that never changes again) and skips its `finally` when it never
 * started (a client that completes right after subscribing): either way its listener, and the socket with it, stayed.
 */
function releasing(
  changes: AsyncGenerator<PaymentStatusChange>,
  subscription: StatusSubscription,
): AsyncIterableIterator<PaymentStatusChange> {
  return {
    next: () => changes.next(),
    return: (value?: unknown) => {
      // Closing ends the live feed, so a generator waiting on it resumes, runs its finally and takes the return.
      subscription.close();
      return changes.return(value as undefined);
    },
    throw: (error?: unknown) => {
      subscription.close();
      return changes.throw(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

function idempotencyConflict(): GatewayError {
  return new GatewayError(ErrorCode.IDEMPOTENCY_CONFLICT, "idempotencyKey was already used with a different input", {
    field: "input.idempotencyKey",
  });
}

/**
 * After PROVIDER_UNAVAILABLE Adyen may or may not have acted. What a retry does depends on the request: with an
 * idempotencyKey it resumes this payment; details reuse their Adyen Idempotency-Key; without a key a new request is
 * a new payment, so the app must ask for this one first. The error names the payment row that was written.
 */
const RETRY_ADVICE = {
  sameKey: "Retrying with the same idempotencyKey and input is safe: it completes this payment (extensions.paymentId)",
  sameDetails: "Retrying with the same details is safe",
  unknownOutcome:
    "Without an idempotencyKey the outcome is unknown and a new request would be a second payment: query payment(id) " +
    "with extensions.paymentId (it shows once Adyen's result arrives) before trying again, and send an idempotencyKey " +
    "to make retries safe",
} as const;

function explainUnavailable(paymentId: PaymentId, retry: keyof typeof RETRY_ADVICE): (error: unknown) => never {
  return (error) => {
    if (!(error instanceof GatewayError) || error.code !== ErrorCode.PROVIDER_UNAVAILABLE) throw error;
    throw new GatewayError(ErrorCode.PROVIDER_UNAVAILABLE, `${error.message}. ${RETRY_ADVICE[retry]}.`, { ...error.details, paymentId });
  };
}

function idempotencyClaim(owner: ApiKeyName, operation: string, key: string | null | undefined, input: unknown): IdempotencyClaim | null {
  if (key == null) return null;
  return { owner, key, operation, requestHash: canonicalHash(input) };
}
