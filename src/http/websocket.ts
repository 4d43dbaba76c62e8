import type { Server } from "node:http";
import { type GraphQLSchema, GraphQLError } from "graphql";
import type { Context } from "graphql-ws";
import { type Extra, useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import type { GatewayContext } from "../graphql/context.js";
import { formatError } from "../graphql/errors.js";
import type { ApiKeyName } from "../payments/ids.js";
import type { StoredPaymentMethods } from "../payments/stored-payment-methods.js";
import type { Payments } from "../payments/use-cases.js";

/** ws accepts 100 MiB messages by default; a subscription request is a few hundred bytes. */
export const WS_MAX_PAYLOAD = 64 * 1024;

type ConnectionParams = { authorization?: unknown };

export interface WebSocketOptions {
  schema: GraphQLSchema;
  payments: Payments;
  storedPaymentMethods: StoredPaymentMethods;
  authenticate: (authorization: unknown) => ApiKeyName | null;
}

/**
 * graphql-ws on the same /graphql path. A socket must authenticate in its connection_init
 * (`connectionParams.authorization`) within a few seconds, or it is closed.
 */
export function serveSubscriptions(server: Server, options: WebSocketOptions): { close(): Promise<void> } {
  const wss = new WebSocketServer({ server, path: "/graphql", maxPayload: WS_MAX_PAYLOAD });
  const disposable = useServer<ConnectionParams, { owner?: ApiKeyName }>(
    {
      schema: options.schema,
      connectionInitWaitTimeout: 5_000,
      onConnect: (ctx) => {
        const owner = options.authenticate(ctx.connectionParams?.authorization);
        if (!owner) return false;
        ctx.extra.owner = owner;
        return true;
      },
      context: (ctx: Context<ConnectionParams, Extra & { owner?: ApiKeyName }>): GatewayContext => ({
        owner: ctx.extra.owner ?? null,
        payments: options.payments,
        storedPaymentMethods: options.storedPaymentMethods,
      }),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) } : result,
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatError(e.toJSON(), e instanceof GraphQLError ? e : undefined)),
    },
    wss,
  );
  // dispose() closes every socket with 1001 Going Away, then the server.
  return { close: async () => await disposable.dispose() };
}
