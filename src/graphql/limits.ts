import type { GraphQLArmorConfig } from "@escape.tech/graphql-armor-types";
import { costLimitRule } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import { GraphQLError, type ValidationContext, type ValidationRule } from "graphql";

/**
 * The limits every operation meets, over HTTP (graphql-armor's Apollo plugins) and over graphql-ws (the same
 * rules passed to its validate, since graphql-ws parses and validates on its own with the standard rules only).
 */
export const OPERATION_LIMITS = {
  maxDepth: 8,
  maxAliases: 10,
  maxCost: 500,
  maxTokens: 1000,
  maxDirectives: 10,
} as const;

export function armorConfig(): GraphQLArmorConfig {
  return {
    maxDepth: { n: OPERATION_LIMITS.maxDepth },
    maxAliases: { n: OPERATION_LIMITS.maxAliases },
    costLimit: { maxCost: OPERATION_LIMITS.maxCost },
    maxTokens: { n: OPERATION_LIMITS.maxTokens },
    maxDirectives: { n: OPERATION_LIMITS.maxDirectives },
    // Its plugin rewrites error messages in place, which graphql-jit's frozen errors refuse; clientErrorFormatter
    // (src/graphql/errors.ts) does the same job in production, over HTTP and graphql-ws.
    blockFieldSuggestion: { enabled: false },
  };
}

/** Report a rejection as a validation error (the rules' default is to throw, which graphql-ws treats as a crash). */
const reportToContext = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

/** graphql-armor's validation rules with our limits, for graphql-ws. */
export function limitRules(): ValidationRule[] {
  return [
    maxDepthRule({ n: OPERATION_LIMITS.maxDepth, ...reportToContext }),
    maxAliasesRule({ n: OPERATION_LIMITS.maxAliases, ...reportToContext }),
    costLimitRule({ maxCost: OPERATION_LIMITS.maxCost, ...reportToContext }),
    maxDirectivesRule({ n: OPERATION_LIMITS.maxDirectives, ...reportToContext }),
  ];
}

/** Queries and mutations go over HTTP; a WebSocket carries subscriptions only. */
export function SubscriptionsOnlyRule(context: ValidationContext) {
  return {
    OperationDefinition(node: { operation: string }) {
      if (node.operation !== "subscription") {
        context.reportError(new GraphQLError(`only subscriptions are accepted over WebSocket; send ${node.operation}s over HTTP`));
      }
    },
  };
}
