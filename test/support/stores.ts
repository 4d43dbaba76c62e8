import type { ApiKeyName, PaymentId } from "../../src/payments/ids.js";
import type { NewPayment } from "../../src/payments/ports.js";

/** A 1000 KRW redirect payment's terms as the domain writes them, for tests that drive a store directly. */
export function newPayment(fields: { id: PaymentId; reference: string; owner?: string } & Partial<Omit<NewPayment, "owner">>): NewPayment {
  const { owner = "alpha", ...rest } = fields;
  return {
    owner: owner as ApiKeyName,
    amount: { value: 1000, currency: "KRW" },
    paymentMethodType: "kakaopay",
    returnUrl: "https://shop.example/r",
    countryCode: "KR",
    shopperLocale: null,
    channel: null,
    shopperReference: null,
    storePaymentMethod: false,
    storedPaymentMethodId: null,
    recurringProcessingModel: null,
    ...rest,
  };
}
