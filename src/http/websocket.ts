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
import { clientErrorFormatter } from "../graphql/errors.js";
import { limitRules, OPERATION_LIMITS, SubscriptionsOnlyRule } from "../graphql/limits.js";
import type { Principal } from "../payments/client-secret.js";
import type { Refunds } from "../payments/refunds.js";
import type { StoredPaymentMethods } from "../payments/stored-payment-methods.js";
import type { Payments } from "../payments/use-cases.js";
import { CloseCode, SocketQuota } from "./limits.js";

/** ws accepts 100 MiB messages by default; a subscription request is a few hundred bytes. */
export const WS_MAX_PAYLOAD = 64 * 1024;

/** At most one line about WebSocket client faults per interval. */
const CLIENT_FAULT_LOG_INTERVAL_MS = 60_000;

/** `log`, but at most one line per interval; the next line says how many were left out meanwhile. */
export function rateLimited(log: (line: string) => void, intervalMs: number): (line: string) => void {
  let last = Number.NEGATIVE_INFINITY;
  let skipped = 0;
  return (line) => {
    const now = Date.now();
    if (now - last < intervalMs) {
      skipped++;
      return;
    }
    last = now;
    log(skipped > 0 ? `${line} (and ${skipped} more like it, not logged)` : line);
    skipped = 0;
  };
}

type ConnectionParams = { authorization?: unknown };

export interface WebSocketOptions {
  schema: GraphQLSchema;
  /** No introspection and no field suggestions in production, over WebSocket as over HTTP. */
  production: boolean;
  payments: Payments;
  storedPaymentMethods: StoredPaymentMethods;
  refunds: Refunds;
  authenticate: (authorization: unknown) => Principal | null;
  /** The UNAUTHENTICATED message's advice. */
  authHint: string;
  log: (line: string) => void;
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
  // The same error policy as Apollo's over HTTP (src/app.ts): a client sees the same error on either transport.
  const formatError = clientErrorFormatter({ production: options.production, log: options.log });
  const rules = [
    ...specifiedRules,
    ...limitRules(),
    SubscriptionsOnlyRule,
    ...(options.production ? [NoSchemaIntrospectionCustomRule] : []),
  ];
  const quota = new SocketQuota(options.limits.maxSocketsPerKey);
  const disposable = useServer<ConnectionParams, { principal?: Principal; counted?: boolean }>(
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
        const principal = options.authenticate(ctx.connectionParams?.authorization);
        if (!principal) return false;
        if (!quota.take(quotaKey(principal))) {
          // Closed first: graphql-ws's own 4403 for `false` is then ignored, and the client sees why.
          ctx.extra.socket.close(CloseCode.TooManySocketsForKey, "too many sockets for this API key");
          return false;
        }
        ctx.extra.principal = principal;
        ctx.extra.counted = true;
        return true;
      },
      onClose: (ctx) => {
        if (ctx.extra.counted && ctx.extra.principal) quota.release(quotaKey(ctx.extra.principal));
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
      // onError sees what onSubscribe rejected (the client's operation is at fault, as Apollo's validation says) and
      // what a running subscription threw, which graphql-ws wraps with the thrown error as originalError.
      onError: (_ctx, _id, _payload, errors) =>
        errors.map((e) =>
          e.originalError
            ? formatError(e.toJSON(), e)
            : formatError({ ...e.toJSON(), extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }, e),
        ),
    },
    wss,
  );
  // graphql-ws prints every socket error with its stack; ws emits them for what a client sent (a frame over
  // maxPayload, bad framing) and has already closed the socket with the right code (1009, 1002, …). So: one short
  // line, rate-limited, since anyone can open sockets and send such frames before authenticating.
  const clientFault = rateLimited(options.log, CLIENT_FAULT_LOG_INTERVAL_MS);
  wss.on("connection", (socket) => {
    socket.removeAllListeners("error");
    socket.on("error", (error: Error & { code?: string }) => {
      clientFault(`websocket closed for a client fault: ${error.message}${error.code ? ` (${error.code})` : ""}`);
    });
  });
  // dispose() closes every socket with 1001 Going Away, then the server.
  return { close: async () => await disposable.dispose() };
}

/** A socket outlives its client secret: a subscription started after the secret expired is refused. */
function unexpired(principal: Principal | undefined): Principal | null {
  if (!principal) return null;
  return principal.kind === "client" && principal.expiresAt.getTime() <= Date.now() ? null : principal;
}

/** Sockets are counted per API key, and a client secret's per payment. */
function quotaKey(principal: Principal): string {
  return principal.kind === "server" ? `key:${principal.owner}` : `payment:${principal.paymentId}`;
}
