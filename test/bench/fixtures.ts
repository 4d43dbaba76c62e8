/** What the bench sends: the gateway's and simulator's shared secrets, the GraphQL operations, signed webhooks. */
import adyen from "@adyen/api-library";
import type { HarvestedPayment } from "./http-load.js";

export const API_KEY = "bench-secret-0123456789abcdef";
export const HMAC_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";
export const ADYEN_API_KEY = "bench-adyen-api-key";
export const WEBHOOK_USER = "adyen-bench";
export const WEBHOOK_PASSWORD = "webhook-password-bench";
export const MERCHANT_ACCOUNT = "KakaoPayGatewaySimulator";
export const RETURN_URL = "http://127.0.0.1/checkout/return";
export const AMOUNT = { value: 12300, currency: "KRW" };

export const GRAPHQL_HEADERS = { "content-type": "application/json", authorization: `Bearer ${API_KEY}` };
export const WEBHOOK_HEADERS = {
  "content-type": "application/json",
  authorization: `Basic ${Buffer.from(`${WEBHOOK_USER}:${WEBHOOK_PASSWORD}`).toString("base64")}`,
};

/** What an app sends to start a payment; the answer has what the app needs and what the bench keeps. */
const START = `mutation Start($input: StartKakaoPayPaymentInput!) {
  startKakaoPayPayment(input: $input) { id reference pspReference status nextStep action }
}`;

/** What an app polls. */
const PAYMENT = `query Payment($id: ID!) {
  payment(id: $id) { id status nextStep resultCode pspReference amount { value currency } version }
}`;

export const SUBSCRIPTION = `subscription Watch($id: ID!) {
  paymentStatusChanged(paymentId: $id, afterVersion: 0) { version status previousStatus source }
}`;

export function startPaymentBody(reference: string): string {
  return JSON.stringify({
    query: START,
    variables: { input: { amount: AMOUNT, reference, returnUrl: RETURN_URL, channel: "WEB" } },
  });
}

export function paymentQueryBody(id: string): string {
  return JSON.stringify({ query: PAYMENT, variables: { id } });
}

const validator = new adyen.hmacValidator();

/** A NotificationRequest with one AUTHORISATION success=true item for the payment, signed like Adyen signs it. */
export function authorisationWebhook(payment: HarvestedPayment): string {
  const item: Record<string, unknown> = {
    amount: AMOUNT,
    eventCode: "AUTHORISATION",
    eventDate: new Date().toISOString(),
    merchantAccountCode: MERCHANT_ACCOUNT,
    merchantReference: payment.reference,
    paymentMethod: "kakaopay",
    pspReference: payment.pspReference,
    success: "true",
    additionalData: {},
  };
  (item.additionalData as Record<string, string>).hmacSignature = validator.calculateHmac(item as never, HMAC_KEY);
  return JSON.stringify({ live: "false", notificationItems: [{ NotificationRequestItem: item }] });
}
