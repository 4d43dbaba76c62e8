import { type ApolloServerPlugin, HeaderMap } from "@apollo/server";
import { type FragmentDefinitionNode, GraphQLError, Kind } from "graphql";
import { ErrorCode, GatewayError } from "../payments/errors.js";
import type { RateLimiter } from "../payments/rate-limit.js";
import type { GatewayContext } from "./context.js";
import { ADYEN_CALLING_FIELDS, rootFieldNames } from "./limits.js";

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
          const fragments = new Map<string, FragmentDefinitionNode>();
          for (const definition of document.definitions) {
            if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
          }
          if (!rootFieldNames(operation, (name) => fragments.get(name)).some((name) => ADYEN_CALLING_FIELDS.has(name))) return;
          try {
            // An app's client secret draws on its payment's own budget, not on the merchant server's.
            limiter.take(principal.kind === "server" ? principal.owner : `payment:${principal.paymentId}`);
          } catch (error) {
            if (!(error instanceof GatewayError) || error.code !== ErrorCode.RATE_LIMITED) throw error;
            const headers = new HeaderMap([["retry-after", String(error.details.retryAfterSeconds)]]);
            throw new GraphQLError(error.message, { originalError: error, extensions: { http: { status: 429, headers } } });
          }
        },
      };
    },
  };
}
