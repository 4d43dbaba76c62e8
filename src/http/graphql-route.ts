import type { IncomingMessage, ServerResponse } from "node:http";
import { type ApolloServer, HeaderMap } from "@apollo/server";
import type { ExecutionResult, GraphQLFormattedError } from "graphql";
import type { GatewayContext } from "../graphql/context.js";
import { type ErrorFormatter, formatLikeApollo } from "../graphql/errors.js";
import { executeCompiled, type GraphQLPipeline } from "../graphql/pipeline.js";
import { takeAdyenBudget } from "../graphql/rate-limit.js";
import { outcomeOf } from "../observability/graphql-metrics.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { Tracing } from "../observability/tracing.js";
import type { RateLimiter } from "../payments/rate-limit.js";
import { BodyTooLarge, readBody } from "./body.js";

export const GRAPHQL_BODY_LIMIT = 64 * 1024;
/**
 * Without a valid API key only small operations are read (Sandbox's introspection is ~2 KB): a larger body is
 * refused as UNAUTHENTICATED before it is read, since every field but introspection would refuse it anyway.
 */
export const UNAUTHENTICATED_BODY_LIMIT = 8 * 1024;

/** What the fast path needs besides Apollo's own settings: the same error policy, metrics and Adyen budget. */
export interface FastPath {
  pipeline: GraphQLPipeline;
  formatError: ErrorFormatter;
  metrics: GatewayMetrics;
  limiter: RateLimiter;
}

export interface GraphQLRouteOptions {
  apollo: ApolloServer<GatewayContext>;
  tracing: Tracing;
  context: (request: IncomingMessage) => GatewayContext;
  authenticated: (request: IncomingMessage) => boolean;
  /** Absent: every request goes through Apollo (tests compare the two). */
  fastPath?: FastPath;
}

/**
 * Apollo on a bare node:http handler: Express cost about 40% of a query's throughput here (docs/stack.md). In front of
 * it, a fast path serves the common request (POST, a JSON body, one query or mutation that parses and validates)
 * without Apollo's per-request machinery, with Apollo's answer to the byte; anything else goes to Apollo.
 */
export function graphqlRoute({ apollo, tracing, context, authenticated, fastPath }: GraphQLRouteOptions) {
  return async (request: IncomingMessage, response: ServerResponse, search: string): Promise<void> => {
    let body: unknown;
    if (request.method === "POST") {
      let raw: Buffer;
      const known = authenticated(request);
      try {
        raw = await readBody(request, known ? GRAPHQL_BODY_LIMIT : UNAUTHENTICATED_BODY_LIMIT);
      } catch (error) {
        if (error instanceof BodyTooLarge && !known) return sendUnauthenticated(response);
        if (error instanceof BodyTooLarge) return sendJsonError(response, 413, "request body too large");
        throw error;
      }
      if (request.headers["content-type"]?.startsWith("application/json")) {
        try {
          body = JSON.parse(raw.toString("utf8"));
        } catch {
          return sendJsonError(response, 400, "request body is not valid JSON");
        }
        // A JSON content type passes Apollo's CSRF prevention, which only stops the types a form can send.
        if (fastPath && (await serveFast(fastPath, tracing, context, body, request, response))) return;
      } else {
        body = raw.toString("utf8");
      }
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    // Renamed to the operation by graphqlMetricsPlugin once Apollo has parsed it.
    const result = await tracing.span("graphql", {}, () =>
      apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: request.method ?? "GET", headers, search, body },
        context: async () => context(request),
      }),
    );
    response.statusCode = result.status ?? 200;
    for (const [name, value] of result.headers) response.setHeader(name, value);
    if (result.body.kind === "complete") {
      response.end(result.body.string);
      return;
    }
    for await (const chunk of result.body.asyncIterator) response.write(chunk);
    response.end();
  };
}

const APPLICATION_JSON = "application/json; charset=utf-8";
const GRAPHQL_RESPONSE_JSON = "application/graphql-response+json; charset=utf-8";
/** The content type Apollo's negotiation picks for the Accept headers clients send; any other goes to Apollo. */
const RESPONSE_TYPES = new Map<string | undefined, string>([
  [undefined, APPLICATION_JSON],
  ["", APPLICATION_JSON],
  ["*/*", APPLICATION_JSON],
  ["application/json", APPLICATION_JSON],
  ["application/graphql-response+json", GRAPHQL_RESPONSE_JSON],
  ["application/graphql-response+json, application/json", GRAPHQL_RESPONSE_JSON],
  ["application/graphql-response+json,application/json;q=0.9", GRAPHQL_RESPONSE_JSON],
]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Serves a request as Apollo would, or returns false (having done nothing) for Apollo to answer: anything but one
 * prepared query or mutation with well-formed fields (a batch, APQ, an unusual Accept, a document that fails to parse
 * or validate, an operation name it lacks, a subscription), since all of those answer with Apollo's own errors.
 */
async function serveFast(
  fast: FastPath,
  tracing: Tracing,
  context: (request: IncomingMessage) => GatewayContext,
  body: unknown,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<boolean> {
  const contentType = RESPONSE_TYPES.get(request.headers.accept);
  if (contentType === undefined || !isRecord(body)) return false;
  const { query, operationName, variables, extensions } = body;
  if (typeof query !== "string" || query === "" || extensions != null) return false;
  if (operationName != null && typeof operationName !== "string") return false;
  if (variables != null && !isRecord(variables)) return false;
  const prepared = fast.pipeline.prepare(query, operationName ?? undefined);
  if (!prepared) return false;
  const { labels } = prepared;
  const answer = await tracing.span("graphql", {}, async () => {
    const contextValue = context(request);
    const started = performance.now();
    tracing.rename(`graphql.${labels.type} ${labels.field}`, { "graphql.operation.type": labels.type, "graphql.field": labels.field });
    // Apollo's order: the budget is taken once the operation is known, before anything runs.
    const refused = prepared.callsAdyen && contextValue.principal ? takeAdyenBudget(fast.limiter, contextValue.principal) : null;
    const result: ExecutionResult = refused ? { errors: [refused] } : await executeCompiled(prepared.query, contextValue, variables ?? {});
    let errors: GraphQLFormattedError[] | undefined;
    let status: number | undefined;
    let headers: Map<string, string> | undefined;
    if (result.errors) {
      ({ errors, status, headers } = formatLikeApollo(result.errors, fast.formatError));
      // Apollo: a refused request is 500 unless its error says otherwise; a result without data (variables that do
      // not coerce) is 400.
      status ??= refused ? 500 : result.data === undefined && errors.length > 0 ? 400 : undefined;
    }
    fast.metrics.graphqlOperation(labels.type, labels.field, outcomeOf(errors), (performance.now() - started) / 1000);
    return { status, headers, text: `${JSON.stringify({ errors, data: result.data, extensions: result.extensions })}\n` };
  });
  response.statusCode = answer.status ?? 200;
  if (answer.headers) for (const [name, value] of answer.headers) response.setHeader(name, value);
  response.setHeader("content-type", contentType);
  response.end(answer.text);
  return true;
}

function sendUnauthenticated(response: ServerResponse): void {
  response.writeHead(401, { "content-type": "application/json", connection: "close" });
  response.end(
    JSON.stringify({
      errors: [{ message: "send Authorization: Bearer <api key> (see GATEWAY_API_KEYS)", extensions: { code: "UNAUTHENTICATED" } }],
    }),
  );
}

export function sendJsonError(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify({ errors: [{ message, extensions: { code: "BAD_USER_INPUT" } }] }));
}
