import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Notification } from "../payments/notification.js";

/** A webhook body that is not Adyen's NotificationRequest: answered 400. */
export class MalformedNotification extends Error {}

/** The most items one request may carry; Adyen sends one, batches stay small. */
export const MAX_ITEMS_PER_REQUEST = 100;

/** Compares `Authorization: Basic` with the configured credentials in constant time. */
export function checkBasicAuth(header: string | undefined, username: string, password: string): boolean {
  const expected = createHash("sha256")
    .update(`Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`)
    .digest();
  const given = createHash("sha256")
    .update(header ?? "")
    .digest();
  return timingSafeEqual(expected, given);
}

/**
 * Parses a NotificationRequest. Each item keeps its raw JSON: the library's classes drop fields they do
 * not model (docs/stack.md #4), and the inbox must hold what Adyen sent.
 */
export function parseNotificationRequest(body: string): Array<{ item: Record<string, unknown>; notification: Notification }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new MalformedNotification("body is not JSON");
  }
  const items = (parsed as { notificationItems?: unknown } | null)?.notificationItems;
  if (!Array.isArray(items) || items.length === 0) throw new MalformedNotification("notificationItems must be a non-empty array");
  if (items.length > MAX_ITEMS_PER_REQUEST) throw new MalformedNotification(`at most ${MAX_ITEMS_PER_REQUEST} items per request`);
  return items.map((wrapper: unknown, index) => {
    const item = (wrapper as { NotificationRequestItem?: unknown } | null)?.NotificationRequestItem;
    if (!isRecord(item)) throw new MalformedNotification(`item ${index} has no NotificationRequestItem`);
    return { item, notification: toNotification(item, index) };
  });
}

/**
 * True when the item's hmacSignature was made with one of the keys (current first, then previous): HMAC-SHA256 under
 * the hex-decoded key of Adyen's signed fields (docs/stack.md #6), computed here with node:crypto rather than through
 * the library's validator, which rebuilds the string through its own item model on every call (BENCHMARKS.md, 3).
 */
export function hasValidSignature(item: Record<string, unknown>, hmacKeys: readonly string[]): boolean {
  const signature = isRecord(item.additionalData) ? item.additionalData.hmacSignature : undefined;
  const amount = item.amount;
  if (typeof signature !== "string" || signature === "" || !isRecord(amount)) return false;
  const signed = [
    item.pspReference,
    item.originalReference,
    item.merchantAccountCode,
    item.merchantReference,
    amount.value,
    amount.currency,
    item.eventCode,
    item.success,
  ].join(":");
  const given = Buffer.from(signature, "base64");
  return hmacKeys.some((key) => {
    const expected = createHmac("sha256", Buffer.from(key, "hex")).update(signed, "utf8").digest();
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
}

function toNotification(item: Record<string, unknown>, index: number): Notification {
  const text = (field: string, required: boolean, max = 256): string => {
    const value = item[field];
    if (value === undefined || value === null) {
      if (required) throw new MalformedNotification(`item ${index}: ${field} is required`);
      return "";
    }
    if (typeof value !== "string" || value.length > max) throw new MalformedNotification(`item ${index}: ${field} must be a string`);
    return value;
  };
  const success = text("success", true);
  if (success !== "true" && success !== "false") throw new MalformedNotification(`item ${index}: success must be "true" or "false"`);
  const amount = item.amount;
  if (amount !== undefined && !(isRecord(amount) && Number.isSafeInteger(amount.value) && typeof amount.currency === "string")) {
    throw new MalformedNotification(`item ${index}: amount must be { value: integer, currency }`);
  }
  const additionalData = item.additionalData;
  if (additionalData !== undefined && !isRecord(additionalData)) {
    throw new MalformedNotification(`item ${index}: additionalData must be an object`);
  }
  const eventCode = text("eventCode", true, 64);
  const pspReference = text("pspReference", true, 64);
  if (eventCode === "" || pspReference === "")
    throw new MalformedNotification(`item ${index}: eventCode and pspReference must not be empty`);
  return {
    eventCode,
    success: success === "true",
    pspReference,
    originalReference: text("originalReference", false, 64),
    merchantReference: text("merchantReference", false, 256),
    merchantAccountCode: text("merchantAccountCode", true, 256),
    amount: amount ? { value: amount.value as number, currency: amount.currency as string } : null,
    reason: text("reason", false, 1024) || null,
    additionalData: Object.fromEntries(
      Object.entries(additionalData ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
    ),
    raw: JSON.stringify(item),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
