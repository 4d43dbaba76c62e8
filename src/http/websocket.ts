import type { Server } from "node:http";
import {
  type DocumentNode,
  type GraphQLSchema,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
} from "graphql";
import type { Context } from "graphql-ws";
import { type Extra, useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import type { GatewayContext } from "../graphql/context.js";
import { formatError } from "../graphql/errors.js";
import { limitRules, OPERATION_LIMITS, SubscriptionsOnlyRule } from "../graphql/limits.js";
import { ErrorCode } from "../payments/errors.js";
import type { Principal } from "../payments/client-secret.js";
import type { Refunds } from "../payments/refunds.js";
import type { StoredPaymentMethods } from "../payments/stored-payment-methods.js";
import type { Payments } from "../payments/use-cases.js";

/** ws accepts 100 MiB messages by default; a subscription request is a few hundred bytes. */
export const WS_MAX_PAYLOAD = 64 * 1024;

type ConnectionParams = { authorization?: unknown };

const MAX_VALIDATED = 1000;

export interface WebSocketOptions {
  schema: GraphQLSchema;
  /** No introspection in production, over WebSocket as over HTTP. */
  production: boolean;
  payments: Payments;
  storedPaymentMethods: StoredPaymentMethods;
  refunds: Refunds;
  authenticate: (authorization: unknown) => Principal | null;
  /** The UNAUTHENTICATED message's advice. */
  authHint: string;
}

/**
 * graphql-ws on the same /graphql path. A socket must authenticate in its connection_init
 * (`connectionParams.authorization`) within a few seconds, or it is closed.
 */
export function serveSubscriptions(server: Server, options: WebSocketOptions): { close(): Promise<void> } {
  const wss = new WebSocketServer({ server, path: "/graphql", maxPayload: WS_MAX_PAYLOAD });
  // Apps send the same few subscription documents: each is parsed and validated once.
  const validated = new Map<string, DocumentNode>();
  const rules = [
    ...specifiedRules,
    ...limitRules(),
    SubscriptionsOnlyRule,
    ...(options.production ? [NoSchemaIntrospectionCustomRule] : []),
  ];
  const disposable = useServer<ConnectionParams, { principal?: Principal }>(
    {
      schema: options.schema,
      connectionInitWaitTimeout: 5_000,
      // Parse and validate here, with the HTTP limits: graphql-ws would otherwise use the standard rules only.
      onSubscribe: (_ctx, _id, payload) => {
        let document = validated.get(payload.query);
        if (!document) {
          try {
            document = parse(payload.query, { maxTokens: OPERATION_LIMITS.maxTokens });
          } catch (error) {
            return [error instanceof GraphQLError ? error : new GraphQLError("could not parse the operation")];
          }
          const errors = validate(options.schema, document, rules);
          if (errors.length > 0) return errors;
          if (validated.size >= MAX_VALIDATED) validated.clear();
          validated.set(payload.query, document);
        }
        return {
          schema: options.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
        };
      },
      onConnect: (ctx) => {
        const principal = options.authenticate(ctx.connectionParams?.authorization);
        if (!principal) return false;
        ctx.extra.principal = principal;
        return true;
      },
      context: (ctx: Context<ConnectionParams, Extra & { principal?: Principal }>): GatewayContext => ({
        principal: unexpired(ctx.extra.principal),
        authHint: options.authHint,
        payments: options.payments,
        storedPaymentMethods: options.storedPaymentMethods,
        refunds: options.refunds,
      }),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) } : result,
      // onError only sees what onSubscribe rejected: the client's operation is at fault.
      onError: (_ctx, _id, _payload, errors) =>
        errors.map((e) => ({ message: e.message, locations: e.locations, extensions: { code: ErrorCode.BAD_USER_INPUT } })),
    },
    wss,
  );
  // dispose() closes every socket with 1001 Going Away, then the server.
  return { close: async () => await disposable.dispose() };
}

/** A socket outlives its client secret: a subscription started after the secret expired is refused. */
function unexpired(principal: Principal | undefined): Principal | null {
  if (!principal) return null;
  return principal.kind === "client" && principal.expiresAt.getTime() <= Date.now() ? null : principal;
}
