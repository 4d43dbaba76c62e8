import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** A connection whose client sent nothing for this long, while we were not working on its request, is cut at shutdown. */
export const STALLED_AFTER_MS = 1_000;

/**
 * The server's open connections, so that a shutdown waits for requests we are working on, but not for a client that
 * stopped sending half-way through a request (which would otherwise hold the shutdown until the grace runs out).
 */
export function trackConnections(server: Server) {
  const open = new Set<Socket>();
  const exchanges = new WeakMap<Socket, { request: IncomingMessage; response: ServerResponse }>();
  server.on("connection", (socket: Socket) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
  });
  server.on("request", (request: IncomingMessage, response: ServerResponse) => exchanges.set(request.socket, { request, response }));

  return {
    /** A socket upgraded to a WebSocket: its server closes it (with 1001), so it is never cut here. */
    release(socket: Socket): void {
      open.delete(socket);
    },

    /**
     * Stops accepting and resolves once every connection is closed: finished ones at once, stalled ones after
     * STALLED_AFTER_MS without a byte, and whatever is left when `graceMs` runs out.
     */
    async close(graceMs: number): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const progress = new Map<Socket, { bytesRead: number; since: number }>();
      const sweep = () => {
        // A connection whose request finishes during shutdown would otherwise idle until keep-alive times out.
        server.closeIdleConnections();
        const now = Date.now();
        for (const socket of open) {
          const exchange = exchanges.get(socket);
          const working = exchange?.request.complete && !exchange.response.writableFinished;
          const seen = progress.get(socket);
          if (working || !seen || seen.bytesRead !== socket.bytesRead) {
            progress.set(socket, { bytesRead: socket.bytesRead, since: now });
          } else if (now - seen.since >= STALLED_AFTER_MS) {
            socket.destroy();
          }
        }
      };
      sweep();
      const sweeper = setInterval(sweep, 50);
      const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
      try {
        await closed;
      } finally {
        clearInterval(sweeper);
        clearTimeout(deadline);
      }
    },
  };
}
