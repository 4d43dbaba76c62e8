import { type Gateway, SHUTDOWN_GRACE_MS, startGateway } from "./app.js";
import { type Config, ConfigError, loadConfig } from "./config.js";
import { keepGeneratedSecrets } from "./dev-secrets.js";
import { RedisStartError } from "./pubsub/redis-feed.js";

/**
 * A configuration problem (a bad variable, a busy port, a database we cannot write, a Redis that does not answer):
 * one line naming it, exit 1.
 */
function stopOn(error: unknown): never {
  if (error instanceof ConfigError || error instanceof RedisStartError) {
    console.error(`Configuration error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

let config: Config;
try {
  config = keepGeneratedSecrets(loadConfig());
} catch (error) {
  stopOn(error);
}

let gateway: Gateway;
try {
  gateway = await startGateway(config);
} catch (error) {
  stopOn(error);
}
console.log(`KakaoPay gateway on ${gateway.url}/graphql (Adyen: ${config.adyen.environment})`);
if (gateway.simulator) console.log(`Adyen simulator on ${gateway.simulator.url}`);
else if (config.simulator?.url) console.log(`Adyen simulator (its own process) on ${config.simulator.url}`);
if (config.simulator) console.log(`Demo checkout (start here): ${gateway.url}/demo`);
if (config.generatedDevApiKey) {
  console.log(`Development API key (simulator mode): Authorization: Bearer ${config.generatedDevApiKey}`);
  if (config.devApiKeyFile) console.log(`(kept across restarts in ${config.devApiKeyFile})`);
}

/** Past the grace, close() cuts what is left and still drains and closes the store; this bounds the drain itself. */
const LAST_RESORT_MS = SHUTDOWN_GRACE_MS + 10_000;

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.log(`${signal}: finishing in-flight requests, then stopping`);
    setTimeout(() => {
      console.error(`shutdown took longer than ${LAST_RESORT_MS} ms; exiting without finishing it`);
      process.exit(1);
    }, LAST_RESORT_MS).unref();
    gateway.close(SHUTDOWN_GRACE_MS).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`shutdown failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        process.exit(1);
      },
    );
  });
}
