import { type Gateway, SHUTDOWN_GRACE_MS, startGateway } from "./app.js";
import { type Config, ConfigError, loadConfig } from "./config.js";
import { keepGeneratedSecrets } from "./dev-secrets.js";
import { createLogger } from "./observability/logger.js";
import type { Logger } from "./payments/logger.js";
import { RedisStartError } from "./pubsub/redis-feed.js";

/**
 * A configuration problem (a bad variable, a busy port, a database we cannot write, a Redis that does not answer):
 * one JSON line naming it, exit 1.
 */
function stopOn(error: unknown, logger: Logger): never {
  if (error instanceof ConfigError || error instanceof RedisStartError) {
    const variable = error instanceof ConfigError ? error.variable : "REDIS_URL";
    logger.error({ operation: "config", variable }, `Configuration error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

let config: Config;
try {
  config = keepGeneratedSecrets(loadConfig());
} catch (error) {
  // LOG_LEVEL itself may be what is wrong: this one line is written at the default level.
  stopOn(error, createLogger("info"));
}

const logger = createLogger(config.logLevel);
let gateway: Gateway;
try {
  gateway = await startGateway(config, logger);
} catch (error) {
  stopOn(error, logger);
}
logger.info({ url: gateway.url, adyenEnvironment: config.adyen.environment }, `KakaoPay gateway on ${gateway.url}/graphql`);
if (gateway.simulator) logger.info({ url: gateway.simulator.url }, `Adyen simulator on ${gateway.simulator.url}`);
else if (config.simulator?.url) logger.info({ url: config.simulator.url }, `Adyen simulator (its own process) on ${config.simulator.url}`);
if (config.simulator) logger.info({ url: `${gateway.url}/demo` }, `Demo checkout (start here): ${gateway.url}/demo`);
if (gateway.metricsUrl) logger.info({ url: `${gateway.metricsUrl}/metrics` }, "Prometheus metrics");
if (config.generatedDevApiKey) {
  // Simulator mode only, generated for this run: a developer needs it to call the API at all.
  logger.info({}, `Development API key (simulator mode): Authorization: Bearer ${config.generatedDevApiKey}`);
  if (config.devApiKeyFile) logger.info({ file: config.devApiKeyFile }, `(kept across restarts in ${config.devApiKeyFile})`);
}

/** Past the grace, close() cuts what is left and still drains and closes the store; this bounds the drain itself. */
const LAST_RESORT_MS = SHUTDOWN_GRACE_MS + 10_000;

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    logger.info({ signal }, "finishing in-flight requests, then stopping");
    setTimeout(() => {
      logger.error({ lastResortMs: LAST_RESORT_MS }, "shutdown took too long; exiting without finishing it");
      process.exit(1);
    }, LAST_RESORT_MS).unref();
    gateway.close(SHUTDOWN_GRACE_MS).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
