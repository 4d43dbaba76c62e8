import adyen from "@adyen/api-library";
import { HMAC_KEY, MERCHANT_ACCOUNT, WEBHOOK_PASSWORD, WEBHOOK_USER } from "./gateway.js";

const validator = new adyen.hmacValidator();

export interface ItemFields {
  eventCode: string;
  pspReference: string;
  merchantReference: string;
  success?: boolean;
  originalReference?: string;
  amount?: { value: number; currency: string };
  reason?: string;
  merchantAccountCode?: string;
  additionalData?: Record<string, string>;
}

/** A NotificationRequestItem signed with the Adyen library's own HMAC code. */
export function signedItem(fields: ItemFields, key = HMAC_KEY): Record<string, unknown> {
  const item: Record<string, unknown> = {
    amount: fields.amount ?? { value: 12300, currency: "KRW" },
    eventCode: fields.eventCode,
    eventDate: new Date().toISOString(),
    merchantAccountCode: fields.merchantAccountCode ?? MERCHANT_ACCOUNT,
    merchantReference: fields.merchantReference,
    pspReference: fields.pspReference,
    success: String(fields.success ?? true),
    ...(fields.originalReference ? { originalReference: fields.originalReference } : {}),
    ...(fields.reason ? { reason: fields.reason } : {}),
    additionalData: { ...fields.additionalData },
  };
  (item.additionalData as Record<string, string>).hmacSignature = validator.calculateHmac(item as never, key);
  return item;
}

export function notificationBody(items: Array<Record<string, unknown>>): string {
  return JSON.stringify({ live: "false", notificationItems: items.map((NotificationRequestItem) => ({ NotificationRequestItem })) });
}

/** POSTs a webhook like Adyen: basic auth, JSON body. */
export async function postWebhook(
  gatewayUrl: string,
  body: string,
  credentials: { user: string; password: string } = { user: WEBHOOK_USER, password: WEBHOOK_PASSWORD },
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${gatewayUrl}/webhooks/adyen`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString("base64")}`,
    },
    body,
  });
  return { status: response.status, text: await response.text() };
}
