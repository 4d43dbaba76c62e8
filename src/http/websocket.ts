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
import { ByteCappedCache, DOCUMENT_CACHE_BYTES, documentBytes, hashOf } from "../graphql/document-cache.js";
import { formatError } from "../graphql/errors.js";
import { limitRules, OPERATION_LIMITS, SubscriptionsOnlyRule } from "../graphql/limits.js";
import { ErrorCode } from "../payments/errors.js";
import type { ApiKeyName } from "../payments/ids.js";
import type { StoredPaymentMethods } from "../payments/stored-payment-methods.js";
import type { Payments } from "../payments/use-cases.js";
import { CloseCode, SocketQuota } from "./limits.js";

/** ws accepts 100 MiB messages by default; a subscription request is a few hundred bytes. */
export const WS_MAX_PAYLOAD = 64 * 1024;

type ConnectionParams = { authorization?: unknown };

export interface WebSocketOptions {
  schema: GraphQLSchema;
  /** No introspection in production, over WebSocket as over HTTP. */
  production: boolean;
  payments: Payments;
  storedPaymentMethods: StoredPaymentMethods;
  authenticate: (authorization: unknown) => ApiKeyName | null;
  limits: { maxSocketsPerKey: number; maxSubscriptionsPerSocket: number };
}

/**
 * graphql-ws on the same /graphql path. A socket must authenticate in its connection_init
 * (`connectionParams.authorization`) within a few seconds, or it is closed.
 */
export function serveSubscriptions(server: Server, options: WebSocketOptions): { close(): Promise<void> } {
  const wss = new WebSocketServer({ server, path: "/graphql", maxPayload: WS_MAX_PAYLOAD });
  // Apps send the same few subscription documents: each is parsed and validated once.
  const validated = new ByteCappedCache<DocumentNode>(DOCUMENT_CACHE_BYTES, documentBytes);
  const rules = [
    ...specifiedRules,
    ...limitRules(),
    SubscriptionsOnlyRule,
    ...(options.production ? [NoSchemaIntrospectionCustomRule] : []),
  ];
  const quota = new SocketQuota(options.limits.maxSocketsPerKey);
  const disposable = useServer<ConnectionParams, { owner?: ApiKeyName; counted?: boolean }>(
    {
      schema: options.schema,
      connectionInitWaitTimeout: 5_000,
      // Parse and validate here, with the HTTP limits: graphql-ws would otherwise use the standard rules only.
      onSubscribe: (ctx, _id, payload) => {
        // graphql-ws has already registered this one.
        if (Object.keys(ctx.subscriptions).length > options.limits.maxSubscriptionsPerSocket) {
          ctx.extra.socket.close(CloseCode.TooManySubscriptionsOnSocket, "too many subscriptions on this socket");
          return [new GraphQLError("too many subscriptions on this socket")];
        }
        const key = hashOf(payload.query);
        let document = validated.get(key);
        if (!document) {
          try {
            document = parse(payload.query, { maxTokens: OPERATION_LIMITS.maxTokens });
          } catch (error) {
            return [error instanceof GraphQLError ? error : new GraphQLError("could not parse the operation")];
          }
          const errors = validate(options.schema, document, rules);
          if (errors.length > 0) return errors;
          validated.set(key, document);
        }
        return {
          schema: options.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
        };
      },
      onConnect: (ctx) => {
        const owner = options.authenticate(ctx.connectionParams?.authorization);
        if (!owner) return false;
        if (!quota.take(owner)) {
          // Closed first: graphql-ws's own 4403 for `false` is then ignored, and the client sees why.
          ctx.extra.socket.close(CloseCode.TooManySocketsForKey, "too many sockets for this API key");
          return false;
        }
        ctx.extra.owner = owner;
        ctx.extra.counted = true;
        return true;
      },
      onClose: (ctx) => {
        if (ctx.extra.counted && ctx.extra.owner) quota.release(ctx.extra.owner);
      },
      context: (ctx: Context<ConnectionParams, Extra & { owner?: ApiKeyName }>): GatewayContext => ({
        owner: ctx.extra.owner ?? null,
        payments: options.payments,
        storedPaymentMethods: options.storedPaymentMethods,
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
