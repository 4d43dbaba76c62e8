import { type ApolloServerPlugin, HeaderMap } from "@apollo/server";
import type { GraphQLArmorConfig } from "@escape.tech/graphql-armor-types";
import { costLimitRule } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type OperationDefinitionNode,
  type SelectionNode,
  type ValidationContext,
  type ValidationRule,
} from "graphql";

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
    // Its check throws from a plugin hook, which Apollo answers with HTTP 500; PARSE_OPTIONS.maxTokens makes
    // Apollo's own parse fail instead: 400 and BAD_USER_INPUT.
    maxTokens: { enabled: false },
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

/** Apollo's own parse options with the token limit, so that too many tokens is a parse failure (HTTP 400). */
export const PARSE_OPTIONS = { maxTokens: OPERATION_LIMITS.maxTokens } as const;

/**
 * What an HTTP request must resolve to before it runs: exactly one operation, and not a subscription (those are
 * served over graphql-ws only; over HTTP, Apollo would run one as a query). Without the first check, the gateway
 * hook is handed no operation name and runs the document's only operation instead of the unknown one asked for.
 */
export function httpOperationGuard<T extends object>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request, document }) {
          if (!operation) {
            const named = request.operationName;
            const count = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).length;
            const message = named
              ? `Unknown operation named "${named.slice(0, 100)}".`
              : count > 1
                ? "Must provide operation name if query contains multiple operations."
                : "Must provide an operation.";
            throw requestError(message, "OPERATION_RESOLUTION_FAILURE");
          }
          if (operation.operation === "subscription") {
            throw requestError("subscriptions are served over WebSocket (graphql-ws on /graphql), not over HTTP", "BAD_REQUEST");
          }
        },
      };
    },
  };
}

function requestError(message: string, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status: 400, headers: new HeaderMap() } } });
}
/** Root fields that call Adyen: one operation may name each once (aliases would multiply the calls). */
export const ADYEN_CALLING_FIELDS = new Set([
  "paymentMethods",
  "storedPaymentMethods",
  "startKakaoPayPayment",
  "submitPaymentDetails",
  "chargeStoredPaymentMethod",
  "disableStoredPaymentMethod",
  "refundPayment",
]);

/** The names of an operation's root fields, through its inline fragments and fragment spreads, once per occurrence. */
export function rootFieldNames(
  operation: OperationDefinitionNode,
  fragment: (name: string) => FragmentDefinitionNode | null | undefined,
): string[] {
  const names: string[] = [];
  const seen = new Set<string>();
  const walk = (selections: readonly SelectionNode[]) => {
    for (const selection of selections) {
      if (selection.kind === Kind.FIELD) names.push(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet.selections);
      else if (!seen.has(selection.name.value)) {
        // A fragment spread twice still selects its fields once: GraphQL merges them.
        seen.add(selection.name.value);
        const definition = fragment(selection.name.value);
        if (definition) walk(definition.selectionSet.selections);
      }
    }
  };
  walk(operation.selectionSet.selections);
  return names;
}

/** Whether an operation of `document` names an Adyen-calling root field (each such operation is rate-limited). */
export function callsAdyen(document: DocumentNode, operation: OperationDefinitionNode): boolean {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return rootFieldNames(operation, (name) => fragments.get(name)).some((name) => ADYEN_CALLING_FIELDS.has(name));
}

/** Each Adyen-calling root field at most once per operation: five aliases must not make five calls to Adyen. */
export function AdyenFieldsOnceRule(context: ValidationContext) {
  return {
    OperationDefinition(node: OperationDefinitionNode) {
      const counted = new Map<string, number>();
      for (const name of rootFieldNames(node, (n) => context.getFragment(n))) {
        if (ADYEN_CALLING_FIELDS.has(name)) counted.set(name, (counted.get(name) ?? 0) + 1);
      }
      for (const [name, count] of counted) {
        if (count > 1) {
          context.reportError(new GraphQLError(`${name} may appear once per operation (each one calls Adyen); it appears ${count} times`));
        }
      }
    },
  };
}
