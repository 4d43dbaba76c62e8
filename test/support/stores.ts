import type { ApiKeyName, PaymentId } from "../../src/payments/ids.js";
import type { Notification } from "../../src/payments/notification.js";
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

/** A 1000 KRW AUTHORISATION success=true as the inbox keeps it (its raw JSON carries the amount, as Adyen's does). */
export function authorisationItem(pspReference: string, merchantReference: string): Notification {
  const amount = { value: 1000, currency: "KRW" };
  return {
    eventCode: "AUTHORISATION",
    success: true,
    pspReference,
    originalReference: "",
    merchantReference,
    merchantAccountCode: "Merchant",
    amount,
    reason: null,
    additionalData: {},
    raw: JSON.stringify({ amount }),
  };
}
