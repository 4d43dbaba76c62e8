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

/** graphql-js ends some validation messages with "Did you mean …?" suggestions, which name schema fields and types. */
const SUGGESTION = / ?Did you mean(.+?)\?$/;

export type ErrorFormatter = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

/**
 * The one error policy of both transports (Apollo over HTTP, graphql-ws): every error a client sees is shaped here.
 * GatewayErrors keep their code, field, providerErrorCode and paymentId; parse and validation failures become
 * BAD_USER_INPUT, without field suggestions in production (they reveal the schema that introspection hides); anything
 * else is an internal error with nothing of its insides.
 */
export function clientErrorFormatter({ production }: { production: boolean }): ErrorFormatter {
  return (formatted, error) => {
    const shaped = formatError(formatted, error);
    if (!production || shaped.extensions?.code !== ErrorCode.BAD_USER_INPUT || rootCause(error) instanceof GatewayError) return shaped;
    return { ...shaped, message: shaped.message.replace(SUGGESTION, "") };
  };
}

function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
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
        ...(original.details.paymentId ? { paymentId: original.details.paymentId } : {}),
      },
    };
  }
  const code = formatted.extensions?.code;
  if (typeof code === "string" && CLIENT_MISTAKES.has(code)) {
    return { message: formatted.message, locations: formatted.locations, extensions: { code: ErrorCode.BAD_USER_INPUT } };
  }
  return { message: "Internal error", locations: formatted.locations, path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
}
