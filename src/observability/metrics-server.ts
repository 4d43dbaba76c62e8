import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "../payments/logger.js";

/** GET /metrics on its own listener, so that it is never public by accident (docs/contract.md, Operations). */
export async function serveMetrics(
  registry: Registry,
  host: string,
  port: number,
  logger: Logger,
): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    if (request.method !== "GET" || request.url?.split("?")[0] !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found");
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": registry.contentType }).end(text),
      (error: unknown) => {
        logger.error({ err: error, operation: "metrics" }, "metrics could not be collected");
        response.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end("metrics could not be collected");
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const { address, port: bound } = server.address() as AddressInfo;
  return { url: `http://${address.includes(":") ? `[${address}]` : address}:${bound}`, server };
}
