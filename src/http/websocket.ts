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
import { formatError, internalCause } from "../graphql/errors.js";
import { limitRules, OPERATION_LIMITS, SubscriptionsOnlyRule } from "../graphql/limits.js";
import { ErrorCode } from "../payments/errors.js";
import type { ApiKeyName } from "../payments/ids.js";
import type { Refunds } from "../payments/refunds.js";
import type { StoredPaymentMethods } from "../payments/stored-payment-methods.js";
import type { Payments } from "../payments/use-cases.js";
import type { Logger } from "../payments/logger.js";
import { operationLabels, outcomeOf } from "../observability/graphql-metrics.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { requestIdOf } from "./server.js";

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
  authenticate: (authorization: unknown) => ApiKeyName | null;
  logger: Logger;
  metrics: GatewayMetrics;
  /** True for a change published live (not replayed): only those have a publish delay to measure. */
  isLive: (change: NonNullable<GatewayContext["delivering"]>) => boolean;
}

/** Per socket: its logger (with a requestId of its own) and, per operation id, when it started and whether it is open. */
type SocketExtra = { owner?: ApiKeyName; log?: Logger; started?: Map<string, number>; open?: Set<string> };

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
  const { metrics } = options;
  const disposable = useServer<ConnectionParams, SocketExtra>(
    {
      schema: options.schema,
      connectionInitWaitTimeout: 5_000,
      // Parse and validate here, with the HTTP limits: graphql-ws would otherwise use the standard rules only.
      onSubscribe: (ctx, id, payload) => {
        ctx.extra.started?.set(id, performance.now());
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
        const owner = options.authenticate(ctx.connectionParams?.authorization);
        if (!owner) return false;
        ctx.extra.owner = owner;
        ctx.extra.started = new Map();
        ctx.extra.open = new Set();
        ctx.extra.log = options.logger.child({ requestId: requestIdOf(ctx.extra.request), operation: "subscription" });
        return true;
      },
      context: (ctx: Context<ConnectionParams, Extra & SocketExtra>): GatewayContext => ({
        owner: ctx.extra.owner ?? null,
        payments: options.payments,
        storedPaymentMethods: options.storedPaymentMethods,
        refunds: options.refunds,
        log: ctx.extra.log ?? options.logger,
      }),
      onOperation: async (ctx, id, _payload, args, pending) => {
        const result = await pending;
        const labels = operationLabels(options.schema, args.document, args.operationName);
        const started = ctx.extra.started?.get(id) ?? performance.now();
        ctx.extra.started?.delete(id);
        const streaming = Symbol.asyncIterator in result;
        if (streaming) {
          ctx.extra.open?.add(id);
          metrics.subscriptionOpened();
        }
        if (!streaming) logInternal(ctx.extra.log ?? options.logger, result.errors);
        const errors = streaming ? undefined : result.errors?.map((e) => formatError(e.toJSON(), e));
        if (labels) metrics.graphqlOperation(labels.type, labels.field, outcomeOf(errors), (performance.now() - started) / 1000);
      },
      onNext: (_ctx, _id, _payload, args, result) => {
        const context = args.contextValue as GatewayContext;
        logInternal(context.log, result.errors);
        if (context.delivering && options.isLive(context.delivering)) metrics.statusPublished(context.delivering.event.occurredAt);
        context.delivering = undefined;
        return result.errors ? { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) } : result;
      },
      onComplete: (ctx, id) => {
        if (ctx.extra.open?.delete(id)) metrics.subscriptionClosed();
      },
      // onError only sees what onSubscribe rejected: the client's operation is at fault.
      onError: (ctx, id, _payload, errors) => {
        ctx.extra.started?.delete(id);
        metrics.graphqlOperation("subscription", "unknown", ErrorCode.BAD_USER_INPUT, 0);
        return errors.map((e) => ({ message: e.message, locations: e.locations, extensions: { code: ErrorCode.BAD_USER_INPUT } }));
      },
    },
    wss,
  );
  // dispose() closes every socket with 1001 Going Away, then the server.
  return { close: async () => await disposable.dispose() };
}

/** Each error that becomes "Internal error" for the client is logged once, with its stack. */
function logInternal(log: Logger, errors: readonly GraphQLError[] | undefined): void {
  for (const error of errors ?? []) {
    const cause = internalCause(error);
    if (cause !== undefined) log.error({ err: cause }, "internal error");
  }
}
