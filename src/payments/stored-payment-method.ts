import type { ApiKeyName, PaymentId, StoredPaymentMethodId } from "./ids.js";

/** A shopper's recurring KakaoPay agreement: Adyen's token, owned by the API key whose payment created it. */
export interface StoredPaymentMethod {
  id: StoredPaymentMethodId;
  owner: ApiKeyName;
  shopperReference: string;
  type: string;
  originalPaymentId: PaymentId | null;
  active: boolean;
  createdAt: Date;
}

/** A token as Adyen lists it (GET /storedPaymentMethods). */
export interface ProviderStoredPaymentMethod {
  id: string;
  type: string;
  /** The app's shopperReference; null when Adyen lists it for another shopper than the one asked about. */
  shopperReference: string | null;
  /** The pspReference of the payment that created the token, when Adyen says. */
  firstPspReference: string | null;
}
