/**
 * Scenario 1's second baseline, for webhook ingestion: bare node:http that appends each request's body to a file
 * and answers `[accepted]` only after an `fdatasync` that covers it. The bodies of one event-loop turn share one
 * write and one fdatasync, as the gateway's group commit shares one transaction, so this is about the most
 * durable ingestion this disk allows; webhook ingestion, bound by the disk, is rated against it rather than
 * against an in-memory server. `DURABLE_FILE` names the file (next to the gateway's database: same disk).
 */
import { fdatasyncSync, openSync, writeSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

const file = process.env.DURABLE_FILE;
if (!file) throw new Error("DURABLE_FILE is required");
const fd = openSync(file, "a");
const ACCEPTED = "[accepted]";

let pending: Array<{ body: Buffer; response: ServerResponse }> = [];

function flush(): void {
  const batch = pending;
  pending = [];
  writeSync(fd, Buffer.concat(batch.flatMap(({ body }) => [body, Buffer.from("\n")])));
  fdatasyncSync(fd);
  for (const { response } of batch) {
    response.writeHead(200, { "content-type": "text/plain", "content-length": ACCEPTED.length });
    response.end(ACCEPTED);
  }
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    // The first body of a turn schedules the flush; the others of the same turn join it.
    if (pending.length === 0) setImmediate(flush);
    pending.push({ body: Buffer.concat(chunks), response });
  });
});
server.listen(0, "127.0.0.1", () => {
  console.log(`durable node:http on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.once("SIGTERM", () => {
  server.close(() => process.exit(0));
  // Keep-alive sockets from the load generator would hold close() open.
  server.closeAllConnections();
});
// Started by the runner with an IPC channel: when the runner goes, so does this.
process.on("disconnect", () => process.exit(0));
