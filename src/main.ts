import { startGateway } from "./app.js";
import { type Config, ConfigError, loadConfig } from "./config.js";
import { createLogger } from "./observability/logger.js";

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    // LOG_LEVEL itself may be what is wrong: this one line is written at the default level.
    createLogger("info").error({ operation: "config", variable: error.variable }, `Configuration error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

const logger = createLogger(config.logLevel);
const gateway = await startGateway(config, logger);
logger.info({ url: gateway.url, adyenEnvironment: config.adyen.environment }, `KakaoPay gateway on ${gateway.url}/graphql`);
if (gateway.simulator) logger.info({ url: gateway.simulator.url }, `Adyen simulator on ${gateway.simulator.url}`);
else if (config.simulator?.url) logger.info({ url: config.simulator.url }, `Adyen simulator (its own process) on ${config.simulator.url}`);
if (gateway.metricsUrl) logger.info({ url: `${gateway.metricsUrl}/metrics` }, "Prometheus metrics");
if (config.generatedDevApiKey) {
  // Simulator mode only, generated for this run: a developer needs it to call the API at all.
  logger.info({}, `Development API key (simulator mode): Authorization: Bearer ${config.generatedDevApiKey}`);
}

/** A shutdown that takes longer than this is cut short: the orchestrator would kill us anyway. */
const SHUTDOWN_GRACE_MS = 15_000;

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    logger.info({ signal }, "finishing in-flight requests, then stopping");
    setTimeout(() => {
      logger.error({ graceMs: SHUTDOWN_GRACE_MS }, "shutdown took too long; exiting");
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    gateway.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
