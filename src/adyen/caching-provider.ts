import type { ApiKeyName, StoredPaymentMethodId } from "../payments/ids.js";
import type { PaymentMethodOffer, PaymentProvider } from "../payments/ports.js";
import type { ProviderStoredPaymentMethod } from "../payments/stored-payment-method.js";

/** Distinct inputs (paymentMethods) and shoppers (storedPaymentMethods) remembered at most; the oldest go first. */
const MAX_ENTRIES = 10_000;

interface Remembered<T> {
  answer: Promise<T>;
  until: number;
}

/**
 * Spares Adyen repeated lookups (one app must not get the merchant account throttled): a paymentMethods answer is
 * reused for the same input for `paymentMethodsTtlMs`, and a shopper's stored methods are asked at most once per
 * `storedMethodsIntervalMs`, concurrent lookups sharing one call. Failures are not remembered.
 */
export class CachingProvider implements PaymentProvider {
  private readonly offers = new Map<string, Remembered<PaymentMethodOffer[]>>();
  private readonly storedMethods = new Map<string, Remembered<ProviderStoredPaymentMethod[]>>();

  constructor(
    private readonly inner: PaymentProvider,
    private readonly options: { paymentMethodsTtlMs: number; storedMethodsIntervalMs: number; now?: () => number },
  ) {}

  listPaymentMethods(query: Parameters<PaymentProvider["listPaymentMethods"]>[0]): Promise<PaymentMethodOffer[]> {
    const key = JSON.stringify([query.amount.value, query.amount.currency, query.countryCode, query.shopperLocale, query.channel]);
    return this.remember(this.offers, key, this.options.paymentMethodsTtlMs, () => this.inner.listPaymentMethods(query));
  }

  listStoredPaymentMethods(owner: ApiKeyName, shopperReference: string): Promise<ProviderStoredPaymentMethod[]> {
    return this.remember(this.storedMethods, shopperKey(owner, shopperReference), this.options.storedMethodsIntervalMs, () =>
      this.inner.listStoredPaymentMethods(owner, shopperReference),
    );
  }

  async disableStoredPaymentMethod(owner: ApiKeyName, id: StoredPaymentMethodId, shopperReference: string): Promise<void> {
    await this.inner.disableStoredPaymentMethod(owner, id, shopperReference);
    this.storedMethods.delete(shopperKey(owner, shopperReference));
  }

  refundPayment(...args: Parameters<PaymentProvider["refundPayment"]>) {
    return this.inner.refundPayment(...args);
  }

  startRedirectPayment(...args: Parameters<PaymentProvider["startRedirectPayment"]>) {
    return this.inner.startRedirectPayment(...args);
  }

  submitDetails(...args: Parameters<PaymentProvider["submitDetails"]>) {
    return this.inner.submitDetails(...args);
  }

  chargeStoredPaymentMethod(...args: Parameters<PaymentProvider["chargeStoredPaymentMethod"]>) {
    return this.inner.chargeStoredPaymentMethod(...args);
  }

  private remember<T>(entries: Map<string, Remembered<T>>, key: string, ttlMs: number, call: () => Promise<T>): Promise<T> {
    const now = (this.options.now ?? Date.now)();
    const known = entries.get(key);
    if (known && known.until > now) return known.answer;
    entries.delete(key);
    if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
    // Remembered from the start, so that concurrent lookups share the call; until it settles, for at least ttlMs.
    const entry: Remembered<T> = { answer: call(), until: Number.POSITIVE_INFINITY };
    entries.set(key, entry);
    entry.answer.then(
      () => {
        entry.until = (this.options.now ?? Date.now)() + ttlMs;
      },
      () => {
        if (entries.get(key) === entry) entries.delete(key);
      },
    );
    return entry.answer;
  }
}

/** Each API key's shoppers are its own, also in the cache. */
function shopperKey(owner: ApiKeyName, shopperReference: string): string {
  return JSON.stringify([owner, shopperReference]);
}
