import type { IncomingMessage, ServerResponse } from "node:http";
import { type ApolloServer, HeaderMap } from "@apollo/server";
import type { GatewayContext } from "../graphql/context.js";
import { BodyTooLarge, readBody } from "./body.js";

export const GRAPHQL_BODY_LIMIT = 64 * 1024;
/**
 * Without a valid API key only small operations are read (Sandbox's introspection is ~2 KB): a larger body is
 * refused as UNAUTHENTICATED before it is read, since every field but introspection would refuse it anyway.
 */
export const UNAUTHENTICATED_BODY_LIMIT = 8 * 1024;

/** Apollo on a bare node:http handler: Express cost about 40% of a query's throughput here (docs/stack.md). */
export function graphqlRoute(
  apollo: ApolloServer<GatewayContext>,
  context: (request: IncomingMessage) => GatewayContext,
  authenticated: (request: IncomingMessage) => boolean = () => true,
) {
  return async (request: IncomingMessage, response: ServerResponse, search: string): Promise<void> => {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
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
      if (headers.get("content-type")?.startsWith("application/json")) {
        try {
          body = JSON.parse(raw.toString("utf8"));
        } catch {
          return sendJsonError(response, 400, "request body is not valid JSON");
        }
      } else {
        body = raw.toString("utf8");
      }
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method ?? "GET", headers, search, body },
      context: async () => context(request),
    });
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
