import { AsyncLocalStorage } from "node:async_hooks";
import type { Logger } from "../payments/logger.js";

const current = new AsyncLocalStorage<Logger>();

/** Runs `run` with `log` (carrying the request's requestId) as the logger of everything it calls. */
export function withRequestLog<T>(log: Logger, run: () => T): T {
  return current.run(log, run);
}

/**
 * `fallback`, or the logger of the request being served when there is one: for callbacks that are not handed the
 * request (Apollo's formatError), so that their lines still carry its requestId.
 */
export function requestScoped(fallback: Logger): Logger {
  const pick = () => current.getStore() ?? fallback;
  return {
    debug: (fields, message) => pick().debug(fields, message),
    info: (fields, message) => pick().info(fields, message),
    warn: (fields, message) => pick().warn(fields, message),
    error: (fields, message) => pick().error(fields, message),
    child: (bindings) => pick().child(bindings),
  };
}
