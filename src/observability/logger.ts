import { pino } from "pino";
import type { Logger } from "../payments/logger.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The names under which a secret may travel (docs/contract.md, Operations: no API key, client secret, HMAC key or webhook credential in a log line). */
const SECRET_NAMES = ["apiKey", "hmacKey", "hmacKeyHex", "hmacKeys", "password", "webhookPassword", "clientSecret", "authorization"];
const CENSOR = "[redacted]";

/**
 * Where pino's redact censors a secret: at the top of a line's fields, on a logged error (`err`, whose own
 * properties pino copies) and in request headers. Censored rather than removed, so a reader sees one was there.
 */
export const REDACTED_PATHS = [...SECRET_NAMES, ...SECRET_NAMES.map((name) => `err.${name}`), 'headers["x-api-key"]'];

/**
 * The same names one level down, under any field (`config.password`, `connectionParams.authorization`): pino's
 * `*.name` wildcards did this at about 1 µs each on every line, 14 µs a line for all of them (BENCHMARKS.md, "The cost
 * of logs and metrics"); this looks only at the fields a line has. The caller's objects are copied, never changed.
 */
export function censorNested(fields: Record<string, unknown>): Record<string, unknown> {
  let out = fields;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value === null || typeof value !== "object" || value instanceof Error) continue;
    let censored: Record<string, unknown> | null = null;
    for (const name of SECRET_NAMES) {
      if (!Object.hasOwn(value, name)) continue;
      censored ??= { ...value };
      censored[name] = CENSOR;
    }
    if (!censored) continue;
    if (out === fields) out = { ...fields };
    out[key] = censored;
  }
  return out;
}

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
      redact: { paths: REDACTED_PATHS, censor: CENSOR },
      formatters: { level: (label) => ({ level: label }), log: censorNested },
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
