import { GatewayError, notFound } from "./errors.js";
import type { ApiKeyName, StoredPaymentMethodId } from "./ids.js";
import { checkShopperReference, checkText } from "./input.js";
import { KAKAOPAY } from "./payment.js";
import type { Logger } from "./logger.js";
import type { PaymentProvider, PaymentStore, StoredPaymentMethodStore } from "./ports.js";
import type { StoredPaymentMethod } from "./stored-payment-method.js";

export interface StoredPaymentMethodDeps {
  store: PaymentStore;
  tokens: StoredPaymentMethodStore;
  provider: PaymentProvider;
  logger: Logger;
}

/** Listing and disabling a shopper's recurring KakaoPay tokens. */
export class StoredPaymentMethods {
  constructor(private readonly deps: StoredPaymentMethodDeps) {}

  /**
   * The owner's tokens for one shopper, active and disabled. Adyen's own list is consulted too, so a token whose
   * RECURRING_CONTRACT webhook was lost is recovered; when Adyen cannot be reached, the stored list is the answer.
   */
  async list(owner: ApiKeyName, shopperReference: string): Promise<StoredPaymentMethod[]> {
    checkShopperReference(shopperReference, "shopperReference");
    try {
      await this.recoverFromAdyen(shopperReference);
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      this.deps.logger.warn(
        { operation: "storedPaymentMethods", code: error.code },
        "storedPaymentMethods answered from the store only: Adyen could not be asked",
      );
    }
    return this.deps.tokens.listTokens(owner, shopperReference);
  }

  async disable(owner: ApiKeyName, input: { storedPaymentMethodId: string; shopperReference: string }): Promise<StoredPaymentMethod> {
    checkText(input.storedPaymentMethodId, "input.storedPaymentMethodId", 1, 64);
    checkShopperReference(input.shopperReference, "input.shopperReference");
    const token = await this.deps.tokens.getToken(input.storedPaymentMethodId as StoredPaymentMethodId);
    if (!token || token.owner !== owner || token.shopperReference !== input.shopperReference) {
      throw notFound("stored payment method");
    }
    if (!token.active) return token;
    await this.deps.provider.disableStoredPaymentMethod(token.id, token.shopperReference);
    return this.deps.tokens.disableToken(token.id);
  }

  /** Records each KakaoPay token Adyen has and we lack, for the key whose payment asked to store it. */
  private async recoverFromAdyen(shopperReference: string): Promise<void> {
    const listed = await this.deps.provider.listStoredPaymentMethods(shopperReference);
    for (const remote of listed) {
      if (remote.type !== KAKAOPAY || (await this.deps.tokens.getToken(remote.id as StoredPaymentMethodId))) continue;
      const candidates = await this.deps.store.findStoringPayments(shopperReference);
      const storing = candidates.find((p) => p.status === "AUTHORISED") ?? candidates[0];
      if (!storing) {
        this.deps.logger.warn(
          { operation: "storedPaymentMethods", storedPaymentMethodId: remote.id },
          "token for a shopper no key asked to store a method for: not recorded",
        );
        continue;
      }
      await this.deps.tokens.recordToken({
        id: remote.id as StoredPaymentMethodId,
        owner: storing.owner,
        shopperReference,
        type: KAKAOPAY,
        originalPaymentId: storing.id,
      });
      this.deps.logger.info(
        { operation: "storedPaymentMethods", paymentId: storing.id, storedPaymentMethodId: remote.id },
        "recovered a token from Adyen's list (its RECURRING_CONTRACT webhook never arrived)",
      );
    }
  }
}
