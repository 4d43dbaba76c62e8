/**
 * Whether a failed Adyen call is Adyen saying no (PROVIDER_REJECTED) or Adyen not answering yet
 * (PROVIDER_UNAVAILABLE, retryable). statusCode 0 means no HTTP answer at all (timeout, network).
 */
export type AdyenFailureKind = "rejected" | "unavailable";

/** Adyen's errorCode for a request whose Idempotency-Key is still being processed (docs/stack.md #20). */
export const REQUEST_IN_PROGRESS = "704";

export function classifyAdyenFailure(statusCode: number, errorCode: string | undefined): AdyenFailureKind {
  // 422/704 is "try again later", not a rejection: the first request with this key may still charge the shopper.
  if (statusCode === 422 && errorCode === REQUEST_IN_PROGRESS) return "unavailable";
  // 408 (request timeout) and 429 (rate limited) are Adyen asking us to come back, not a verdict on the request.
  if (statusCode >= 400 && statusCode < 500 && statusCode !== 408 && statusCode !== 429) return "rejected";
  return "unavailable";
}

/** Why Adyen is unavailable, for a failure classified "unavailable"; no answer has its own message. */
export function unavailableReason(statusCode: number, errorCode: string | undefined, noAnswer: string): string {
  if (statusCode === 0) return noAnswer;
  if (statusCode === 422 && errorCode === REQUEST_IN_PROGRESS) return "Adyen is still processing the first attempt of this request";
  if (statusCode === 429) return "Adyen is rate limiting our requests";
  return `Adyen answered HTTP ${statusCode}`;
}
