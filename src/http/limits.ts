import type { IncomingMessage, Server, ServerOptions } from "node:http";
import type { Limits } from "../config.js";

/** Routes still served above MAX_CONNECTIONS: Adyen's webhooks must not be lost, and probes must see us alive. */
const RESERVED_PATHS = new Set(["/webhooks/adyen", "/healthz", "/readyz"]);

/** node:http's timeouts from the limits; Node's own (60 s for headers, 300 s per request) let slow clients hold sockets. */
export function serverOptions(limits: Limits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // How often Node checks those timeouts (30 s by default): a fraction of the shorter one.
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/**
 * Caps open connections at maxConnections + reservedConnections (Node drops the rest at once) and, above
 * maxConnections, serves only the reserved paths: one client holding many sockets cannot starve webhooks and health
 * checks. Returns whether a request may be served.
 */
export function limitConnections(server: Server, limits: Limits): (request: IncomingMessage, path: string) => boolean {
  server.maxConnections = limits.maxConnections + limits.reservedConnections;
  let open = 0;
  server.on("connection", (socket) => {
    open++;
    socket.once("close", () => open--);
  });
  // A WebSocket is a general connection too.
  server.prependListener("upgrade", (_request, socket) => {
    if (open > limits.maxConnections) socket.end("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n\r\n");
  });
  return (_request, path) => open <= limits.maxConnections || RESERVED_PATHS.has(path);
}

/** graphql-ws close codes of our own (4400–4499 are graphql-ws's): documented in README "Security". */
export const CloseCode = {
  TooManySocketsForKey: 4290,
  TooManySubscriptionsOnSocket: 4291,
} as const;

/** Open WebSockets per API key name, so that one key cannot hold every socket. */
export class SocketQuota {
  private readonly open = new Map<string, number>();

  constructor(private readonly maxPerKey: number) {}

  /** Takes a place for `key`, or returns false when it holds maxPerKey already. */
  take(key: string): boolean {
    const held = this.open.get(key) ?? 0;
    if (held >= this.maxPerKey) return false;
    this.open.set(key, held + 1);
    return true;
  }

  release(key: string): void {
    const held = (this.open.get(key) ?? 0) - 1;
    if (held > 0) this.open.set(key, held);
    else this.open.delete(key);
  }
}
