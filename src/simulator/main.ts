/**
 * The simulator as its own process (`npm run simulator`), configured from the environment. A gateway started with
 * ADYEN_ENVIRONMENT=simulator and SIMULATOR_URL pointing here uses it instead of starting one in-process; both
 * must be given the same ADYEN_API_KEY, ADYEN_HMAC_KEY and webhook credentials.
 */
import { createLogger, LOG_LEVELS, type LogLevel } from "../observability/logger.js";
import { startSimulator } from "./index.js";

type Env = Record<string, string | undefined>;

/** A bad variable: reported as one line naming it, never echoing its value (it may be a secret). */
class EnvError extends Error {}

function text(env: Env, name: string, fallback?: string): string {
  const value = env[name];
  if (value !== undefined && value !== "") return value;
  if (fallback !== undefined) return fallback;
  throw new EnvError(`${name} is required (the gateway must be given the same value)`);
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = env[name];
  if (value === undefined || value === "") return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new EnvError(`${name} must be an integer from ${min} to ${max}`);
  }
  return Number(value);
}

/** The same rules as the gateway's config, so a pair that one side accepts the other accepts too. */
function readEnv(env: Env) {
  const apiKey = text(env, "ADYEN_API_KEY");
  if (/\s/.test(apiKey)) throw new EnvError("ADYEN_API_KEY must not contain whitespace");
  const merchantAccount = text(env, "ADYEN_MERCHANT_ACCOUNT", "KakaoPayGatewaySimulator");
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(merchantAccount)) {
    throw new EnvError("ADYEN_MERCHANT_ACCOUNT must be an Adyen merchant account name (letters, digits, _ and -)");
  }
  const hmacKeyHex = text(env, "ADYEN_HMAC_KEY");
  if (!/^(?:[0-9A-Fa-f]{2}){16,}$/.test(hmacKeyHex)) throw new EnvError("ADYEN_HMAC_KEY must be a hex HMAC key of 16 bytes or more");
  const username = text(env, "ADYEN_WEBHOOK_USERNAME");
  if (username.includes(":")) throw new EnvError("ADYEN_WEBHOOK_USERNAME must not contain ':'");
  const password = text(env, "ADYEN_WEBHOOK_PASSWORD");
  // The gateway's defaults: PORT 4000, the simulator on PORT + 1.
  const url = text(env, "SIMULATOR_WEBHOOK_URL", "http://127.0.0.1:4000/webhooks/adyen");
  const parsed = URL.canParse(url) ? new URL(url) : null;
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    throw new EnvError("SIMULATOR_WEBHOOK_URL must be an http(s) URL (the gateway's /webhooks/adyen)");
  }
  const level = text(env, "LOG_LEVEL", "info");
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new EnvError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`);
  return {
    logger: createLogger(level as LogLevel).child({ component: "simulator" }),
    port: integer(env, "SIMULATOR_PORT", 4001, 0, 65535),
    apiKey,
    merchantAccount,
    webhook: { url, hmacKeyHex, username, password },
    webhookDelayMs: integer(env, "SIMULATOR_WEBHOOK_DELAY_MS", 1000, 0, 3_600_000),
    pendingDelayMs: integer(env, "SIMULATOR_PENDING_DELAY_MS", 10_000, 0, 3_600_000),
    offerTtlMs: integer(env, "SIMULATOR_OFFER_TTL_SECONDS", 900, 1, 86_400) * 1000,
  };
}

let options: ReturnType<typeof readEnv>;
try {
  options = readEnv(process.env);
} catch (error) {
  if (error instanceof EnvError) {
    createLogger("info").error({ operation: "config" }, `Configuration error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

const simulator = await startSimulator(options).catch((error: unknown) => {
  if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
  options.logger.error({ port: options.port }, "SIMULATOR_PORT is already in use");
  process.exit(1);
});
options.logger.info({ url: options.webhook.url }, "sending webhooks");

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    simulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        options.logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
