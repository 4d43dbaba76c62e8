/** The error codes of docs/contract.md; every error an app sees carries one. */
export const ErrorCode = {
  BAD_USER_INPUT: "BAD_USER_INPUT",
  UNAUTHENTICATED: "UNAUTHENTICATED",
  NOT_FOUND: "NOT_FOUND",
  IDEMPOTENCY_CONFLICT: "IDEMPOTENCY_CONFLICT",
  INVALID_STATE: "INVALID_STATE",
  PROVIDER_REJECTED: "PROVIDER_REJECTED",
  PROVIDER_UNAVAILABLE: "PROVIDER_UNAVAILABLE",
  RATE_LIMITED: "RATE_LIMITED",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error meant for the client: its message is safe to show and never holds a secret. */
export class GatewayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: {
      field?: string;
      providerErrorCode?: string;
      /** The payment a failed request wrote, so the app can ask for it (PROVIDER_UNAVAILABLE). */
      paymentId?: string;
      /** When the client may try again (RATE_LIMITED). */
      retryAfterSeconds?: number;
    } = {},
  ) {
    super(message);
    this.name = "GatewayError";
  }
}

export function badInput(field: string, message: string): GatewayError {
  return new GatewayError(ErrorCode.BAD_USER_INPUT, message, { field });
}

export function notFound(what: string): GatewayError {
  return new GatewayError(ErrorCode.NOT_FOUND, `${what} not found`);
}
