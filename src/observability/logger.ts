import { pino } from "pino";
import type { Logger } from "../payments/logger.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Every field that may hold a secret, wherever it sits (docs/contract.md, Operations: no API key, client secret,
 * HMAC key or webhook credential in a log line). Censored rather than removed, so a reader sees one was there.
 */
export const REDACTED_PATHS = [
  "apiKey",
  "hmacKey",
  "hmacKeyHex",
  "hmacKeys",
  "password",
  "webhookPassword",
  "clientSecret",
  "authorization",
  "headers.authorization",
  'headers["x-api-key"]',
  "connectionParams.authorization",
].flatMap((path) => [path, `*.${path}`]);

/**
 * A pino logger writing JSON lines to `destination` (stdout by default); errors go under `err`, with their stack.
 * Stdout is written asynchronously: the lines of one event-loop turn leave in one write instead of one write each
 * (BENCHMARKS.md, "The cost of logs and metrics"); pino flushes what is left when the process exits.
 */
export function createLogger(level: LogLevel, destination: pino.DestinationStream = pino.destination({ dest: 1, sync: false })): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** Writes nothing: for classifying errors without logging them twice. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
