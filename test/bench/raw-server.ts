/**
 * Scenario 1, the baseline: bare node:http answering a small JSON, nothing else. Every other scenario is reported
 * as a ratio to this, measured in the same run with the same connections.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const BODY = JSON.stringify({ data: { ok: true } });

const server = createServer((request, response) => {
  // Read (and drop) any body, as a real handler must, before answering.
  request.resume();
  request.on("end", () => {
    response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(BODY) });
    response.end(BODY);
  });
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`raw node:http on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.once("SIGTERM", () => {
  server.close(() => process.exit(0));
  // Keep-alive sockets from the load generator would hold close() open.
  server.closeAllConnections();
});
// Started by the runner with an IPC channel: when the runner goes, so does this.
process.on("disconnect", () => process.exit(0));
