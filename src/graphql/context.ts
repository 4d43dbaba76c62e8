import { ErrorCode, GatewayError } from "../payments/errors.js";
import type { ApiKeyName } from "../payments/ids.js";
import type { Refunds } from "../payments/refunds.js";
import type { StoredPaymentMethods } from "../payments/stored-payment-methods.js";
import type { Logger } from "../payments/logger.js";
import type { PaymentStatusChange } from "../payments/payment.js";
import type { Payments } from "../payments/use-cases.js";

/** What every resolver gets: the caller's API key name (null when unauthenticated) and the use cases. */
export type GatewayContext = {
  owner: ApiKeyName | null;
  payments: Payments;
  storedPaymentMethods: StoredPaymentMethods;
  refunds: Refunds;
  /** Carries the request's requestId (HTTP) or the socket's (WebSocket). */
  log: Logger;
  /** The change a subscription is delivering now: the socket layer measures its publish delay. */
  delivering?: PaymentStatusChange;
};

/** Maps `Bearer <secret>` to the key's name; the secret itself goes no further than this lookup. */
export class ApiKeyAuthenticator {
  constructor(private readonly keys: ReadonlyMap<string, string>) {}

  authenticate(authorization: unknown): ApiKeyName | null {
    if (typeof authorization !== "string") return null;
    const match = /^Bearer ([\x21-\x7e]{1,256})$/.exec(authorization);
    const name = match?.[1] ? this.keys.get(match[1]) : undefined;
    return (name as ApiKeyName | undefined) ?? null;
  }
}

export function requireOwner(context: GatewayContext): ApiKeyName {
  if (!context.owner) {
    throw new GatewayError(ErrorCode.UNAUTHENTICATED, "send Authorization: Bearer <api key> (see GATEWAY_API_KEYS)");
  }
  return context.owner;
}
