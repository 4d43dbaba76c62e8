import { createLogger } from "../../src/observability/logger.js";
import type { Logger } from "../../src/payments/logger.js";

/** The gateway's own pino logger (same redaction, same JSON lines), writing into `lines` instead of stdout. */
export function memoryLogger(lines: string[]): Logger {
  return createLogger("debug", { write: (line: string) => void lines.push(line.trimEnd()) });
}
