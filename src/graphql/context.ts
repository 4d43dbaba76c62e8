import { ClientSecrets, type Principal } from "../payments/client-secret.js";
import { ErrorCode, GatewayError } from "../payments/errors.js";
import type { ApiKeyName } from "../payments/ids.js";
import type { Refunds } from "../payments/refunds.js";
import type { StoredPaymentMethods } from "../payments/stored-payment-methods.js";
import type { Payments } from "../payments/use-cases.js";

/** What every resolver gets: who is calling (null when unauthenticated), how to authenticate, and the use cases. */
export type GatewayContext = {
  principal: Principal | null;
  /** The UNAUTHENTICATED message's advice on which credential to send. */
  authHint: string;
  payments: Payments;
  storedPaymentMethods: StoredPaymentMethods;
  refunds: Refunds;
};

/**
 * Maps `Bearer <credential>` to a server key's name or to the payment a client secret is for; the credential itself
 * goes no further than this check.
 */
export class Authenticator {
  constructor(
    private readonly keys: ReadonlyMap<string, string>,
    private readonly clientSecrets: ClientSecrets,
  ) {}

  authenticate(authorization: unknown): Principal | null {
    if (typeof authorization !== "string") return null;
    const credential = /^Bearer ([\x21-\x7e]{1,256})$/.exec(authorization)?.[1];
    if (!credential) return null;
    if (ClientSecrets.isClientSecret(credential)) return this.clientSecrets.verify(credential);
    const name = this.keys.get(credential);
    return name ? { kind: "server", owner: name as ApiKeyName } : null;
  }
}

/** Any valid credential: a server key, or a client secret (which the use case then holds to its one payment). */
export function requirePrincipal(context: GatewayContext): Principal {
  if (!context.principal) throw new GatewayError(ErrorCode.UNAUTHENTICATED, context.authHint);
  return context.principal;
}

/** A server API key: a client secret has no payment of its own to act on here (docs/contract.md, Authentication). */
export function requireOwner(context: GatewayContext): ApiKeyName {
  const principal = requirePrincipal(context);
  if (principal.kind !== "server") {
    throw new GatewayError(
      ErrorCode.UNAUTHENTICATED,
      "this operation needs a server API key; a client secret only reads, submits details for and follows its own payment",
    );
  }
  return principal.owner;
}
