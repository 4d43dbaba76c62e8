import type { Amount } from "./payment.js";

/** One Adyen NotificationRequestItem, as the domain reads it. `raw` is the item exactly as Adyen sent it. */
export interface Notification {
  eventCode: string;
  success: boolean;
  pspReference: string;
  /** "" when absent, so that it can take part in the inbox's unique key. */
  originalReference: string;
  merchantReference: string;
  merchantAccountCode: string;
  amount: Amount | null;
  reason: string | null;
  additionalData: Record<string, string>;
  raw: string;
}

/** A notification as stored in the inbox. */
export interface StoredNotification extends Notification {
  id: number;
  receivedAt: Date;
  appliedAt: Date | null;
}

/** Why a stored notification changed nothing, or that it did. */
export const NotificationOutcome = {
  APPLIED: "applied",
  NO_CHANGE: "no_change",
  OTHER_MERCHANT_ACCOUNT: "other_merchant_account",
  UNHANDLED_EVENT: "unhandled_event",
  /** No payment matched it within the sweep's unmatchedAfterMs. */
  UNMATCHED: "unmatched",
  /** Found by merchant reference, but the payment has another pspReference. */
  PSP_REFERENCE_MISMATCH: "psp_reference_mismatch",
} as const;
export type NotificationOutcome = (typeof NotificationOutcome)[keyof typeof NotificationOutcome];
