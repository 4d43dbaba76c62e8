import { type ApolloServerPlugin, HeaderMap } from "@apollo/server";
import { GraphQLError } from "graphql";
import type { Principal } from "../payments/client-secret.js";
import { ErrorCode, GatewayError } from "../payments/errors.js";
import type { RateLimiter } from "../payments/rate-limit.js";
import type { GatewayContext } from "./context.js";
import { callsAdyen } from "./limits.js";

/**
 * Counts each operation that names an Adyen-calling root field against its API key's budget (docs/contract.md,
 * RATE_LIMITED), before anything is executed; over it, the answer is 429 with Retry-After and nothing calls Adyen.
 */
export function adyenRateLimit(limiter: RateLimiter): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, contextValue }) {
          const principal = contextValue.principal;
          if (!principal || !operation) return;
          if (!callsAdyen(document, operation)) return;
          const refused = takeAdyenBudget(limiter, principal);
          if (refused) throw refused;
        },
      };
    },
  };
}

/**
 * Takes one Adyen-calling operation from the caller's budget; over it, returns the error to answer (429 with
 * Retry-After, through Apollo's error formatting or the HTTP fast path's, which reads it the same way).
 */
export function takeAdyenBudget(limiter: RateLimiter, principal: Principal): GraphQLError | null {
  try {
    // An app's client secret draws on its payment's own budget, not on the merchant server's.
    limiter.take(principal.kind === "server" ? principal.owner : `payment:${principal.paymentId}`);
    return null;
  } catch (error) {
    if (!(error instanceof GatewayError) || error.code !== ErrorCode.RATE_LIMITED) throw error;
    const headers = new HeaderMap([["retry-after", String(error.details.retryAfterSeconds)]]);
    return new GraphQLError(error.message, { originalError: error, extensions: { http: { status: 429, headers } } });
  }
}
