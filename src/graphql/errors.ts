import type { GraphQLError, GraphQLFormattedError } from "graphql";
import { ErrorCode, GatewayError } from "../payments/errors.js";
import type { Logger } from "../payments/logger.js";

/**
 * What was thrown in a resolver. graphql-jit wraps it in its own error, which Apollo wraps again, so the chain of
 * `originalError`s is walked to its end.
 */
function rootCause(error: unknown): unknown {
  let cause = (error as { originalError?: unknown } | null)?.originalError;
  while (cause && typeof cause === "object" && "originalError" in cause && cause.originalError) cause = cause.originalError;
  return cause;
}

/** Parse and validation failures are the client's input: BAD_USER_INPUT (docs/contract.md, Errors). */
const INPUT_MISTAKES = new Set(["GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", ErrorCode.BAD_USER_INPUT]);

/**
 * Apollo's codes for a request it could not run; clients act on them as they are (an APQ client resends the query on
 * PERSISTED_QUERY_NOT_FOUND), so they pass unchanged.
 */
const REQUEST_MISTAKES = new Set([
  "BAD_REQUEST",
  "OPERATION_RESOLUTION_FAILURE",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
]);

/** Apollo marks some request errors with a 4xx status and no code (e.g. an APQ hash that does not match). */
function isClientStatus(error: unknown): boolean {
  const status = (error as { extensions?: { http?: { status?: unknown } } } | null)?.extensions?.http?.status;
  return typeof status === "number" && status >= 400 && status < 500;
}

/** graphql-js ends some validation messages with "Did you mean …?" suggestions, which name schema fields and types. */
const SUGGESTION = / ?Did you mean(.+?)\?$/;

export type ErrorFormatter = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

/**
 * The one error policy of both transports (Apollo over HTTP, graphql-ws): every error a client sees is shaped here.
 * GatewayErrors keep their code and details (field, providerErrorCode, paymentId, retryAfterSeconds); parse and
 * validation failures become BAD_USER_INPUT, without field suggestions in production (they reveal the schema that
 * introspection hides); Apollo's request errors keep their code; anything else is our bug: INTERNAL_SERVER_ERROR with
 * nothing of its insides, logged once with its stack.
 */
export function clientErrorFormatter({ production, logger }: { production: boolean; logger: Logger }): ErrorFormatter {
  return (formatted, error) => {
    const original = rootCause(error);
    if (original instanceof GatewayError) {
      const { field, providerErrorCode, paymentId, retryAfterSeconds } = original.details;
      return {
        message: original.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: {
          code: original.code,
          ...(field ? { field } : {}),
          ...(providerErrorCode ? { providerErrorCode } : {}),
          ...(paymentId ? { paymentId } : {}),
          ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
        },
      };
    }
    const code = formatted.extensions?.code;
    if (typeof code === "string" && INPUT_MISTAKES.has(code)) {
      const message = production ? formatted.message.replace(SUGGESTION, "") : formatted.message;
      return { message, locations: formatted.locations, extensions: { code: ErrorCode.BAD_USER_INPUT } };
    }
    if (typeof code === "string" && REQUEST_MISTAKES.has(code)) {
      return { message: formatted.message, extensions: { code } };
    }
    if (isClientStatus(error)) return { message: formatted.message, extensions: { code: "BAD_REQUEST" } };
    // The stack goes under `err` (pino's serializer): one line, with it.
    logger.error({ err: original ?? error, ...(formatted.path ? { path: formatted.path.join(".") } : {}) }, "internal error");
    return {
      message: "Internal error",
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: "INTERNAL_SERVER_ERROR" },
    };
  };
}

/** A response's status and headers as its errors ask (`extensions.http`), and the errors as the client sees them. */
export interface FormattedErrors {
  errors: GraphQLFormattedError[];
  status: number | undefined;
  headers: Map<string, string>;
}

/**
 * The errors of a result as Apollo sends them (its normalizeAndFormatErrors, without stack traces): each gets a code
 * (INTERNAL_SERVER_ERROR when it has none) and gives up its `extensions.http` to the response, then goes through
 * `formatError`; one that `formatError` throws on becomes Apollo's "Internal server error". The HTTP fast path
 * (src/http/graphql-route.ts) answers with it, so its answers are Apollo's.
 */
export function formatLikeApollo(errors: readonly GraphQLError[], formatError: ErrorFormatter): FormattedErrors {
  let status: number | undefined;
  const headers = new Map<string, string>();
  const formatted = errors.map((error) => {
    try {
      const extensions: Record<string, unknown> = { ...error.extensions, code: error.extensions.code ?? "INTERNAL_SERVER_ERROR" };
      const http = extensions.http as { status?: unknown; headers?: unknown } | undefined;
      if (isHttpHead(http)) {
        if (http.status) status = http.status;
        for (const [name, value] of http.headers ?? []) headers.set(name, value);
        delete extensions.http;
      }
      return formatError({ ...error.toJSON(), extensions }, error);
    } catch {
      return { message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } };
    }
  });
  return { errors: formatted, status, headers };
}

function isHttpHead(x: unknown): x is { status?: number; headers?: Map<string, string> } {
  return (
    !!x && typeof x === "object" && (!("status" in x) || typeof x.status === "number") && (!("headers" in x) || x.headers instanceof Map)
  );
}
