import type { ApolloServerPlugin } from "@apollo/server";
import { type DocumentNode, type GraphQLSchema, getOperationAST, Kind, type OperationDefinitionNode } from "graphql";
import type { GatewayContext } from "../graphql/context.js";
import type { GatewayMetrics, GraphQLOperationType } from "./metrics.js";
import type { Tracing } from "./tracing.js";

/**
 * The operation's type and root field, for metric labels. A field the schema does not have (a client's typo) is
 * "unknown": labels must stay a bounded set whatever clients send.
 */
export function operationLabels(
  schema: GraphQLSchema,
  document: DocumentNode | undefined,
  operationName: string | null | undefined,
): { type: GraphQLOperationType; field: string } | null {
  const operation = document ? getOperationAST(document, operationName) : null;
  return operation ? labelsOf(schema, operation) : null;
}

/** operationLabels of an operation already resolved. */
export function labelsOf(schema: GraphQLSchema, operation: OperationDefinitionNode): { type: GraphQLOperationType; field: string } {
  const first = operation.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
  const name = first?.kind === Kind.FIELD ? first.name.value : undefined;
  const root = schema.getRootType(operation.operation);
  const field = name === "__typename" || (name && root?.getFields()[name]) ? name : "unknown";
  return { type: operation.operation, field };
}

/** The code of the first error a client was sent, or "ok". */
export function outcomeOf(errors: ReadonlyArray<{ extensions?: Record<string, unknown> | undefined }> | undefined): string {
  const code = errors?.[0]?.extensions?.code;
  return errors?.length ? (typeof code === "string" ? code : "INTERNAL_SERVER_ERROR") : "ok";
}

/**
 * Feeds gateway_graphql_operations_total and gateway_graphql_operation_duration_seconds for /graphql over HTTP, and
 * names the operation's span. Internal errors are logged by clientErrorFormatter (src/graphql/errors.ts).
 */
export function graphqlMetricsPlugin(metrics: GatewayMetrics, tracing: Tracing): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async didResolveOperation({ schema, document, operationName }) {
          const labels = operationLabels(schema, document, operationName);
          if (labels) {
            tracing.rename(`graphql.${labels.type} ${labels.field}`, {
              "graphql.operation.type": labels.type,
              "graphql.field": labels.field,
            });
          }
        },
        async willSendResponse({ schema, document, operationName, response }) {
          const labels = operationLabels(schema, document, operationName);
          if (!labels) return;
          const errors = response.body.kind === "single" ? response.body.singleResult.errors : undefined;
          metrics.graphqlOperation(labels.type, labels.field, outcomeOf(errors), (performance.now() - started) / 1000);
        },
      };
    },
  };
}
