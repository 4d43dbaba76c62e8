import type { GraphQLFormattedError } from "graphql";
import { ErrorCode, GatewayError } from "../payments/errors.js";

const CLIENT_MISTAKES = new Set(["GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST", ErrorCode.BAD_USER_INPUT]);

/**
 * Shapes every error a client sees: GatewayErrors keep their code, field and providerErrorCode; parse and
 * validation failures become BAD_USER_INPUT; anything else is an internal error with nothing of its insides.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = (error as { originalError?: unknown } | null)?.originalError;
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
