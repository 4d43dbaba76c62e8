import type { Server } from "node:http";
import { type DocumentNode, type GraphQLSchema, GraphQLError, NoSchemaIntrospectionCustomRule, specifiedRules } from "graphql";
import type { Context } from "graphql-ws";
import { type Extra, useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import type { GatewayContext } from "../graphql/context.js";
import { ByteCappedCache, DOCUMENT_CACHE_BYTES, documentBytes, hashOf } from "../graphql/document-cache.js";
import { clientErrorFormatter, type ErrorFormatter } from "../graphql/errors.js";
import { limitRules, SubscriptionsOnlyRule } from "../graphql/limits.js";
import { parseAndValidate } from "../graphql/pipeline.js";
import { operationLabels, outcomeOf } from "../observability/graphql-metrics.js";
import { silentLogger } from "../observability/logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { Principal } from "../payments/client-secret.js";
import type { Logger } from "../payments/logger.js";
import type { Refunds } from "../payments/refunds.js";
import type { StoredPaymentMethods } from "../payments/stored-payment-methods.js";
import type { Payments } from "../payments/use-cases.js";
import { CloseCode, SocketQuota } from "./limits.js";
import { requestIdOf } from "./server.js";

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
  logger: Logger;
  metrics: GatewayMetrics;
  /** True for a change published live (not replayed): only those have a publish delay to measure. */
  isLive: (change: NonNullable<GatewayContext["delivering"]>) => boolean;
  limits: { maxSocketsPerKey: number; maxSubscriptionsPerSocket: number };
}

/**
 * Per socket: its principal, whether it holds a quota slot, its requestId (its errors are formatted and logged under
 * it, by a formatter made when the first one comes: most sockets never see one) and, per operation id, when it
 * started. Kept small: a gateway holds one per open subscription (BENCHMARKS.md, scenario 5).
 */
type SocketExtra = {
  principal?: Principal;
  counted?: boolean;
  requestId?: string;
  formatError?: ErrorFormatter;
  started?: Map<string, number>;
};

/**
 * graphql-ws on the same /graphql path. A socket must authenticate in its connection_init
 * (`connectionParams.authorization`) within a few seconds, or it is closed.
 */
export function serveSubscriptions(server: Server, options: WebSocketOptions): { close(): Promise<void> } {
  const wss = new WebSocketServer({ server, path: "/graphql", maxPayload: WS_MAX_PAYLOAD });
  // Apps send the same few subscription documents: each is parsed and validated once.
  const validated = new ByteCappedCache<DocumentNode>(DOCUMENT_CACHE_BYTES, documentBytes);
  // The same error policy as Apollo's over HTTP (src/app.ts): a client sees the same error on either transport.
  const formatError = clientErrorFormatter({ production: options.production, logger: options.logger });
  const classify = clientErrorFormatter({ production: options.production, logger: silentLogger });
  const { metrics } = options;
  const rules = [
    ...specifiedRules,
    ...limitRules(),
    SubscriptionsOnlyRule,
    ...(options.production ? [NoSchemaIntrospectionCustomRule] : []),
  ];
  const quota = new SocketQuota(options.limits.maxSocketsPerKey);
  const socketFormatter = (extra: SocketExtra): ErrorFormatter => {
    if (!extra.requestId) return formatError;
    extra.formatError ??= clientErrorFormatter({
      production: options.production,
      logger: options.logger.child({ requestId: extra.requestId, operation: "subscription" }),
    });
    return extra.formatError;
  };
  const disposable = useServer<ConnectionParams, SocketExtra>(
    {
      schema: options.schema,
      connectionInitWaitTimeout: 5_000,
      // Parse and validate here, with the HTTP limits (src/graphql/pipeline.ts): graphql-ws would otherwise use the
      // standard rules only.
      onSubscribe: (ctx, id, payload) => {
        ctx.extra.started?.set(id, performance.now());
        // graphql-ws has already registered this one.
        if (Object.keys(ctx.subscriptions).length > options.limits.maxSubscriptionsPerSocket) {
          ctx.extra.socket.close(CloseCode.TooManySubscriptionsOnSocket, "too many subscriptions on this socket");
          return [new GraphQLError("too many subscriptions on this socket")];
        }
        const key = hashOf(payload.query);
        let document = validated.get(key);
        if (!document) {
          const parsed = parseAndValidate(options.schema, payload.query, rules);
          if (Array.isArray(parsed)) return parsed;
          document = parsed as DocumentNode;
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
        ctx.extra.started = new Map();
        ctx.extra.requestId = requestIdOf(ctx.extra.request);
        // Nothing else reads the upgrade request: its headers would otherwise stay on the heap for the socket's life.
        Reflect.deleteProperty(ctx.extra, "request");
        return true;
      },
      onClose: (ctx) => {
        if (ctx.extra.counted && ctx.extra.principal) quota.release(quotaKey(ctx.extra.principal));
      },
      context: (ctx: Context<ConnectionParams, Extra & SocketExtra>): GatewayContext => ({
        principal: unexpired(ctx.extra.principal),
        authHint: options.authHint,
        payments: options.payments,
        storedPaymentMethods: options.storedPaymentMethods,
        refunds: options.refunds,
      }),
      onOperation: async (ctx, id, _payload, args, pending) => {
        const result = await pending;
        const labels = operationLabels(options.schema, args.document, args.operationName);
        const started = ctx.extra.started?.get(id) ?? performance.now();
        ctx.extra.started?.delete(id);
        // A subscription that fails to start answers with errors at once: onNext formats (and logs) them for the
        // client; here they are only classified for the metric.
        const errors = Symbol.asyncIterator in result ? undefined : result.errors?.map((e) => classify(e.toJSON(), e));
        if (labels) metrics.graphqlOperation(labels.type, labels.field, outcomeOf(errors), (performance.now() - started) / 1000);
      },
      onNext: (ctx, _id, _payload, args, result) => {
        const context = args.contextValue as GatewayContext;
        if (context.delivering && options.isLive(context.delivering)) metrics.statusPublished(context.delivering.event.occurredAt);
        context.delivering = undefined;
        if (!result.errors) return result;
        const format = socketFormatter(ctx.extra);
        return { ...result, errors: result.errors.map((e) => format(e.toJSON(), e)) };
      },
      // onError sees what onSubscribe rejected (the client's operation is at fault, as Apollo's validation says) and
      // what a running subscription threw, which graphql-ws wraps with the thrown error as originalError.
      onError: (ctx, id, _payload, errors) => {
        const format = socketFormatter(ctx.extra);
        const formatted = errors.map((e) =>
          e.originalError ? format(e.toJSON(), e) : format({ ...e.toJSON(), extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }, e),
        );
        if (ctx.extra.started?.delete(id)) metrics.graphqlOperation("subscription", "unknown", outcomeOf(formatted), 0);
        return formatted;
      },
    },
    wss,
  );
  // graphql-ws prints every socket error with its stack; ws emits them for what a client sent (a frame over
  // maxPayload, bad framing) and has already closed the socket with the right code (1009, 1002, …). So: one short
  // line, rate-limited, since anyone can open sockets and send such frames before authenticating.
  const clientFault = rateLimited((line) => options.logger.warn({}, line), CLIENT_FAULT_LOG_INTERVAL_MS);
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
