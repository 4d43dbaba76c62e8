import type { IncomingMessage } from "node:http";

/** A request body over its limit: answered 413 without reading the rest. */
export class BodyTooLarge extends Error {}

/**
 * Reads the whole body, refusing more than `limit` bytes (the rest is not read: the request is destroyed, and its
 * connection with it, once the refusal is sent). Listeners rather than an async iterator: the iterator's promises and its stream bookkeeping
 * were ~4% of a query's CPU.
 */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers["content-length"]);
  if (declared > limit) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error?: Error) => {
      request.off("data", onData).off("end", onEnd).off("error", settle).off("close", onClose);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      settle(new BodyTooLarge());
      // Once the caller has answered (it does so as soon as this rejects), the connection goes with the unread rest.
      setImmediate(() => request.destroy());
    };
    const onEnd = () => settle();
    // Closed before its end: the client went away mid-body.
    const onClose = () => settle(Object.assign(new Error("Premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" }));
    request.on("data", onData).on("end", onEnd).on("error", settle).on("close", onClose);
  });
}
