import type { GatewayExecutor, GatewayInterface } from "@apollo/server-gateway-interface";
import { type ExecutionResult, GraphQLError, type GraphQLSchema, printSchema } from "graphql";
import { compileQuery, type CompiledQuery, isCompiledQuery } from "graphql-jit";
import { ErrorCode } from "../payments/errors.js";

/** Compiled operations kept at most; the documents apps send are few and fixed. */
const MAX_COMPILED = 1000;

/**
 * Executes operations with graphql-jit behind Apollo's `gateway` hook (Apollo 5 has no other executor option). It runs
 * after Apollo's own parse and validation, so graphql-armor's rules still apply; each document is compiled once.
 */
export function jitExecution(schema: GraphQLSchema): GatewayInterface {
  const compiled = new Map<string, CompiledQuery | ExecutionResult>();
  const executor: GatewayExecutor = async (request) => {
    const key = `${request.operationName ?? ""}\u0000${request.source}`;
    let query = compiled.get(key);
    if (!query) {
      if (compiled.size >= MAX_COMPILED) compiled.clear();
      query = compileQuery(schema, request.document, request.operationName ?? undefined);
      compiled.set(key, query);
    }
    if (!isCompiledQuery(query)) return query;
    const result = await query.query(undefined, request.context, request.request.variables ?? {});
    if (!result.errors) return result;
    // graphql-jit's errors are look-alikes without `extensions`, which Apollo reads: rebuild them as graphql-js's.
    // One without a path is about the request itself (variables that do not coerce), as Apollo would report it.
    const errors = result.errors.map((error) =>
      error.path
        ? new GraphQLError(error.message, { path: error.path, originalError: error.originalError ?? error })
        : new GraphQLError(error.message, { extensions: { code: ErrorCode.BAD_USER_INPUT } }),
    );
    return { ...result, errors };
  };
  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return () => {};
    },
    load: async () => ({ executor }),
    stop: async () => {},
  };
}
