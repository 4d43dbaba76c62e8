import type { GatewayExecutor, GatewayInterface } from "@apollo/server-gateway-interface";
import { type GraphQLSchema, printSchema } from "graphql";
import { executeCompiled, type GraphQLPipeline } from "./pipeline.js";

/**
 * Executes operations with graphql-jit behind Apollo's `gateway` hook (Apollo 5 has no other executor option). It runs
 * after Apollo's own parse and validation, so graphql-armor's rules still apply; each document is compiled once, in
 * the pipeline's cache that the HTTP fast path shares.
 */
export function jitExecution(schema: GraphQLSchema, pipeline: GraphQLPipeline): GatewayInterface {
  const executor: GatewayExecutor = async (request) => {
    // Apollo always has the text (APQ gives it from its cache): the pipeline's key.
    const query = pipeline.compiled(request.source, request.document, request.operationName ?? undefined);
    return await executeCompiled(query, request.context, request.request.variables ?? {});
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
