/** Where a payment stands, as apps see it (docs/contract.md, `PaymentStatus`). */
export const PaymentStatus = {
  ACTION_REQUIRED: "ACTION_REQUIRED",
  PENDING: "PENDING",
  AUTHORISED: "AUTHORISED",
  REFUSED: "REFUSED",
  CANCELLED: "CANCELLED",
  ERROR: "ERROR",
  EXPIRED: "EXPIRED",
} as const;
export type PaymentStatus = (typeof PaymentStatus)[keyof typeof PaymentStatus];

/** What the app should tell the shopper: the "Action to take" column of Adyen's KakaoPay guide. */
export const ShopperNextStep = {
  COMPLETE_REDIRECT: "COMPLETE_REDIRECT",
  SHOW_SUCCESS: "SHOW_SUCCESS",
  SHOW_ORDER_RECEIVED: "SHOW_ORDER_RECEIVED",
  ASK_CONTINUE_OR_CHANGE_METHOD: "ASK_CONTINUE_OR_CHANGE_METHOD",
  SHOW_ERROR: "SHOW_ERROR",
  ASK_DIFFERENT_METHOD: "ASK_DIFFERENT_METHOD",
  SHOW_TIMED_OUT: "SHOW_TIMED_OUT",
} as const;
export type ShopperNextStep = (typeof ShopperNextStep)[keyof typeof ShopperNextStep];

/** Who told us about a status change. */
export const EventSource = { API: "API", REDIRECT: "REDIRECT", WEBHOOK: "WEBHOOK" } as const;
export type EventSource = (typeof EventSource)[keyof typeof EventSource];

const FINAL: ReadonlySet<PaymentStatus> = new Set([
  PaymentStatus.AUTHORISED,
  PaymentStatus.REFUSED,
  PaymentStatus.CANCELLED,
  PaymentStatus.ERROR,
  PaymentStatus.EXPIRED,
]);

export function isFinal(status: PaymentStatus): boolean {
  return FINAL.has(status);
}

const NEXT_STEP: Record<PaymentStatus, ShopperNextStep> = {
  ACTION_REQUIRED: ShopperNextStep.COMPLETE_REDIRECT,
  PENDING: ShopperNextStep.SHOW_ORDER_RECEIVED,
  AUTHORISED: ShopperNextStep.SHOW_SUCCESS,
  REFUSED: ShopperNextStep.ASK_DIFFERENT_METHOD,
  CANCELLED: ShopperNextStep.ASK_CONTINUE_OR_CHANGE_METHOD,
  ERROR: ShopperNextStep.SHOW_ERROR,
  EXPIRED: ShopperNextStep.SHOW_TIMED_OUT,
};

export function nextStepFor(status: PaymentStatus): ShopperNextStep {
  return NEXT_STEP[status];
}

/**
 * Adyen's synchronous resultCode -> our status. Only `Authorised` means paid; codes that KakaoPay never
 * returns and that do not settle the money (e.g. PartiallyAuthorised, Success) wait for the webhook as PENDING.
 */
export function statusForResultCode(resultCode: string): PaymentStatus {
  switch (resultCode) {
    case "Authorised":
      return PaymentStatus.AUTHORISED;
    case "Refused":
      return PaymentStatus.REFUSED;
    case "Cancelled":
      return PaymentStatus.CANCELLED;
    case "Error":
      return PaymentStatus.ERROR;
    case "RedirectShopper":
    case "IdentifyShopper":
    case "ChallengeShopper":
    case "PresentToShopper":
      return PaymentStatus.ACTION_REQUIRED;
    default:
      return PaymentStatus.PENDING;
  }
}
