import { randomUUID } from "node:crypto";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { lazyChild, withRequestLog } from "../observability/request-log.js";
import type { Tracing } from "../observability/tracing.js";
import type { Logger } from "../payments/logger.js";

/** `log` carries the request's `requestId`: every line about this request has it. */
export type RouteHandler = (request: IncomingMessage, response: ServerResponse, search: string, log: Logger) => Promise<void>;

export interface GatewayRoutes {
  graphql: RouteHandler;
  webhook?: RouteHandler;
  /** The demo checkout, /demo and /demo/…: simulator mode only. */
  demo?: RouteHandler;
  ready: () => Promise<boolean>;
  logger: Logger;
  tracing: Tracing;
  /** Whether a request to this path may be served now (limits.ts: above MAX_CONNECTIONS, only reserved paths). */
  admit?: (request: IncomingMessage, path: string) => boolean;
}

const TRACED_PATHS = new Set(["/graphql", "/webhooks/adyen", "/healthz", "/readyz"]);

/** The gateway's HTTP surface: /graphql, /webhooks/adyen, /healthz, /readyz (and /demo), on a bare node:http server. */
export function requestHandler(routes: GatewayRoutes): RequestListener {
  return (request: IncomingMessage, response: ServerResponse) => {
    const requestId = requestIdOf(request);
    response.setHeader("x-request-id", requestId);
    const log = lazyChild(routes.logger, { requestId });
    const path = request.url?.split("?")[0] ?? "/";
    const span = `${request.method} ${TRACED_PATHS.has(path) ? path : "other"}`;
    routes.tracing
      .request(request.headers, span, () => withRequestLog(log, () => route(request, response, routes, log)))
      .catch((error: unknown) => {
        // Logged once, with its stack; the client only learns that it was an internal error.
        log.error({ err: error, method: request.method, path }, "request failed");
        if (!response.headersSent) {
          response.writeHead(500, { "content-type": "application/json" });
          response.end(JSON.stringify({ errors: [{ message: "Internal error", extensions: { code: "INTERNAL_SERVER_ERROR" } }] }));
        } else {
          response.destroy();
        }
      });
  };
}

/** A printable id of at most 128 characters from `x-request-id`, so the caller's id joins our lines; else a new one. */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers["x-request-id"];
  return typeof given === "string" && /^[\x21-\x7e]{1,128}$/.test(given) ? given : randomUUID();
}

/** Every request while the gateway starts (its port is bound before the routes exist): 503, try again shortly. */
export const answerStarting: RequestListener = (_request, response) => {
  plain(response, 503, "starting", { "retry-after": "1" });
};

async function route(request: IncomingMessage, response: ServerResponse, routes: GatewayRoutes, log: Logger): Promise<void> {
  const url = request.url ?? "/";
  const queryAt = url.indexOf("?");
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const search = queryAt === -1 ? "" : url.slice(queryAt);
  if (routes.admit && !routes.admit(request, path)) {
    return plain(response, 503, "too many connections; retry shortly", { "retry-after": "1", connection: "close" });
  }
  if (path === "/graphql") return routes.graphql(request, response, search, log);
  if (path === "/webhooks/adyen" && routes.webhook) {
    if (request.method !== "POST") return plain(response, 405, "use POST", { allow: "POST" });
    return routes.webhook(request, response, search, log);
  }
  if ((path === "/demo" || path.startsWith("/demo/")) && routes.demo) return routes.demo(request, response, search, log);
  if (path === "/healthz" && request.method === "GET") return plain(response, 200, "ok");
  if (path === "/readyz" && request.method === "GET") {
    const ready = await routes.ready().catch((error: unknown) => {
      // One line, no stack: probes come every few seconds while the database is down.
      log.warn({ reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }, "readyz: not ready");
      return false;
    });
    return plain(response, ready ? 200 : 503, ready ? "ready" : "not ready: the database (or Redis, when configured) does not answer");
  }
  plain(response, 404, "not found");
}

function plain(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers });
  response.end(text);
}
