/** Fields of one log line: ids (`paymentId`, `pspReference`, `refundId`, `requestId`), `operation`, `err`... */
export type LogFields = Record<string, unknown>;

/**
 * The structured logger every module is handed (docs/contract.md, Operations); src/observability implements it
 * with pino. The domain only sees this port: no logging library is imported outside src/observability.
 */
export interface Logger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
  /** A logger whose every line also carries `bindings`. */
  child(bindings: LogFields): Logger;
}
