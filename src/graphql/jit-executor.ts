import type { GatewayExecutor, GatewayInterface } from "@apollo/server-gateway-interface";
import { type ExecutionResult, GraphQLError, type GraphQLSchema, printSchema } from "graphql";
import { compileQuery, type CompiledQuery, isCompiledQuery } from "graphql-jit";
import { ErrorCode } from "../payments/errors.js";
import { ByteCappedCache, documentBytes } from "./document-cache.js";

/** Bytes of compiled operations kept at most; the documents apps send are few and fixed. */
const COMPILED_CACHE_BYTES = 32 * 1024 * 1024;
/** A compiled operation keeps its document and generated functions: a few times the document's own bytes. */
const COMPILED_PER_DOCUMENT_BYTE = 4;

/**
 * Executes operations with graphql-jit behind Apollo's `gateway` hook (Apollo 5 has no other executor option). It runs
 * after Apollo's own parse and validation, so graphql-armor's rules still apply; each document is compiled once.
 */
export function jitExecution(schema: GraphQLSchema): GatewayInterface {
  const compiled = new ByteCappedCache<{ query: CompiledQuery | ExecutionResult; bytes: number }>(
    COMPILED_CACHE_BYTES,
    (entry) => entry.bytes,
  );
  const executor: GatewayExecutor = async (request) => {
    // Apollo's queryHash is the SHA-256 of the text: the key never holds a copy of a large document.
    const key = `${request.queryHash}:${request.operationName ?? ""}`;
    let query = compiled.get(key)?.query;
    if (!query) {
      query = compileQuery(schema, request.document, request.operationName ?? undefined);
      compiled.set(key, { query, bytes: COMPILED_PER_DOCUMENT_BYTE * documentBytes(request.document) });
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
