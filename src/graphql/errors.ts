import type { GraphQLFormattedError } from "graphql";
import { ErrorCode, GatewayError } from "../payments/errors.js";

/**
 * What was thrown in a resolver. graphql-jit wraps it in its own error, which Apollo wraps again, so the chain of
 * `originalError`s is walked to its end.
 */
function rootCause(error: unknown): unknown {
  let cause = (error as { originalError?: unknown } | null)?.originalError;
  while (cause && typeof cause === "object" && "originalError" in cause && cause.originalError) cause = cause.originalError;
  return cause;
}

const CLIENT_MISTAKES = new Set(["GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST", ErrorCode.BAD_USER_INPUT]);

/**
 * What made an error that formatError turns into "Internal error": a bug, for the operator's log (with its stack).
 * Undefined for a GatewayError or a client's mistake.
 */
export function internalCause(error: { extensions?: Record<string, unknown> | undefined }): unknown {
  const original = rootCause(error);
  if (original instanceof GatewayError) return undefined;
  const code = error.extensions?.code;
  if (typeof code === "string" && CLIENT_MISTAKES.has(code)) return undefined;
  return original ?? error;
}

/**
 * Shapes every error a client sees: GatewayErrors keep their code, field and providerErrorCode; parse and
 * validation failures become BAD_USER_INPUT; anything else is an internal error with nothing of its insides.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = rootCause(error);
  if (original instanceof GatewayError) {
    return {
      message: original.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: {
        code: original.code,
        ...(original.details.field ? { field: original.details.field } : {}),
        ...(original.details.providerErrorCode ? { providerErrorCode: original.details.providerErrorCode } : {}),
      },
    };
  }
  const code = formatted.extensions?.code;
  if (typeof code === "string" && CLIENT_MISTAKES.has(code)) {
    return { message: formatted.message, locations: formatted.locations, extensions: { code: ErrorCode.BAD_USER_INPUT } };
  }
  return { message: "Internal error", locations: formatted.locations, path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
}
