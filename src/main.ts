import { startGateway } from "./app.js";
import { type Config, ConfigError, loadConfig } from "./config.js";

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`Configuration error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

// A database that cannot be opened at start is a configuration error too: one line, then exit.
const gateway = await startGateway(config).catch((error: unknown) => {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`Configuration error: ${error.message}`);
  process.exit(1);
});
console.log(`KakaoPay gateway on ${gateway.url}/graphql (Adyen: ${config.adyen.environment})`);
if (gateway.simulator) console.log(`Adyen simulator on ${gateway.simulator.url}`);
else if (config.simulator?.url) console.log(`Adyen simulator (its own process) on ${config.simulator.url}`);
if (config.generatedDevApiKey) {
  console.log(`Development API key (simulator mode): Authorization: Bearer ${config.generatedDevApiKey}`);
}

/** A shutdown that takes longer than this is cut short: the orchestrator would kill us anyway. */
const SHUTDOWN_GRACE_MS = 15_000;

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.log(`${signal}: finishing in-flight requests, then stopping`);
    setTimeout(() => {
      console.error(`shutdown took longer than ${SHUTDOWN_GRACE_MS} ms; exiting`);
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    gateway.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  });
}
