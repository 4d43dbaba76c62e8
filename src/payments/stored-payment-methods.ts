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
      await this.recoverFromAdyen(owner, shopperReference);
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
    await this.deps.provider.disableStoredPaymentMethod(owner, token.id, token.shopperReference);
    return this.deps.tokens.disableToken(token.id);
  }

  /**
   * Records each KakaoPay token Adyen lists and we lack, only when the payment that created it (Adyen's
   * firstPspReference) is the owner's and asked to store a method for this very shopper: a token is never attributed
   * by the shopperReference alone, which another key's shopper may share.
   */
  private async recoverFromAdyen(owner: ApiKeyName, shopperReference: string): Promise<void> {
    const listed = await this.deps.provider.listStoredPaymentMethods(owner, shopperReference);
    for (const remote of listed) {
      if (remote.type !== KAKAOPAY || (await this.deps.tokens.getToken(remote.id as StoredPaymentMethodId))) continue;
      const storing = remote.firstPspReference ? await this.deps.store.findOwnPaymentByPspReference(owner, remote.firstPspReference) : null;
      if (!storing?.storePaymentMethod || storing.shopperReference !== shopperReference || remote.shopperReference !== shopperReference) {
        this.deps.logger.warn(
          { operation: "storedPaymentMethods", storedPaymentMethodId: remote.id, pspReference: remote.firstPspReference ?? null },
          "token in Adyen's list was not created by a storing payment of this key for this shopper: not recorded",
        );
        continue;
      }
      await this.deps.tokens.recordToken({
        id: remote.id as StoredPaymentMethodId,
        owner,
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
