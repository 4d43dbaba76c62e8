import { randomBytes } from "node:crypto";
import { isIP } from "node:net";

export type AdyenEnvironment = "simulator" | "test" | "live";

/** The gateway's whole configuration, read once from the environment (docs/contract.md, "Environment"). */
export interface Config {
  port: number;
  /** Interface to listen on: loopback in simulator mode, every interface in test and live. */
  host: string;
  /** `NODE_ENV=production`: no Sandbox, no introspection, no stack traces. */
  production: boolean;
  databaseUrl: string;
  adyen: {
    environment: AdyenEnvironment;
    apiKey: string;
    merchantAccount: string;
    liveUrlPrefix: string | null;
    /** Current key first; the previous one is accepted while a rotation is under way. */
    hmacKeys: string[];
    webhookUsername: string;
    webhookPassword: string;
    timeoutMs: number;
  };
  /** API key secret -> key name. */
  apiKeys: Map<string, string>;
  returnUrlAllowlist: string[];
  simulator: {
    /** A simulator running in its own process (`npm run simulator`); null = start one in this process. */
    url: string | null;
    port: number;
    webhookDelayMs: number;
    pendingDelayMs: number;
    offerTtlMs: number;
  } | null;
  /** Printed at start in simulator mode, so a developer can call the API at once. */
  generatedDevApiKey: string | null;
}

/** A bad environment variable: the message is one line that names it, and never echoes its value. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const environment = readEnum(env, "ADYEN_ENVIRONMENT", ["simulator", "test", "live"], "simulator");
  const simulated = environment === "simulator";
  const externalSimulator = simulated && Boolean(env.SIMULATOR_URL);
  // A simulator in another process must be told the same secrets, so they cannot be generated here.
  const sharedWithSimulator = ["ADYEN_API_KEY", "ADYEN_HMAC_KEY", "ADYEN_WEBHOOK_USERNAME", "ADYEN_WEBHOOK_PASSWORD"];
  const required = (name: string): string | undefined => {
    const value = env[name];
    if (value === undefined || value === "") {
      if (externalSimulator && sharedWithSimulator.includes(name)) {
        throw new ConfigError(name, "is required when SIMULATOR_URL is set (the simulator needs the same value)");
      }
      if (simulated) return undefined;
      throw new ConfigError(name, `is required when ADYEN_ENVIRONMENT=${environment}`);
    }
    return value;
  };

  const apiKey = required("ADYEN_API_KEY") ?? secret();
  if (/\s/.test(apiKey)) throw new ConfigError("ADYEN_API_KEY", "must not contain whitespace");
  const merchantAccount = required("ADYEN_MERCHANT_ACCOUNT") ?? "KakaoPayGatewaySimulator";
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(merchantAccount)) {
    throw new ConfigError("ADYEN_MERCHANT_ACCOUNT", "must be an Adyen merchant account name (letters, digits, _ and -)");
  }
  let liveUrlPrefix: string | null = null;
  if (environment === "live") {
    liveUrlPrefix = required("ADYEN_LIVE_URL_PREFIX")!;
    if (!/^[A-Za-z0-9-]{1,100}$/.test(liveUrlPrefix)) {
      throw new ConfigError("ADYEN_LIVE_URL_PREFIX", "must be the prefix from your Customer Area, e.g. 1797a841fbb37ca7-AdyenDemo");
    }
  }
  const hmacKeys = [readHmacKey("ADYEN_HMAC_KEY", required("ADYEN_HMAC_KEY") ?? randomBytes(32).toString("hex").toUpperCase())];
  if (env.ADYEN_HMAC_KEY_PREVIOUS) hmacKeys.push(readHmacKey("ADYEN_HMAC_KEY_PREVIOUS", env.ADYEN_HMAC_KEY_PREVIOUS));
  const webhookUsername = required("ADYEN_WEBHOOK_USERNAME") ?? `adyen-${secret(6)}`;
  const webhookPassword = required("ADYEN_WEBHOOK_PASSWORD") ?? secret();
  if (webhookUsername.includes(":")) throw new ConfigError("ADYEN_WEBHOOK_USERNAME", "must not contain ':'");

  let generatedDevApiKey: string | null = null;
  let apiKeysText = required("GATEWAY_API_KEYS");
  if (apiKeysText === undefined) {
    generatedDevApiKey = `dev_${secret()}`;
    apiKeysText = `dev:${generatedDevApiKey}`;
  }
  const allowlistText = required("RETURN_URL_ALLOWLIST") ?? "http://localhost,http://127.0.0.1";

  const port = readInt(env, "PORT", 4000, 0, 65535);
  const host = env.HOST || (simulated ? "127.0.0.1" : "0.0.0.0");
  if (isIP(host) === 0 && host !== "localhost") throw new ConfigError("HOST", "must be an IP address such as 0.0.0.0 or 127.0.0.1");
  return {
    port,
    host,
    production: env.NODE_ENV === "production",
    databaseUrl: readDatabaseUrl(env),
    adyen: {
      environment,
      apiKey,
      merchantAccount,
      liveUrlPrefix,
      hmacKeys,
      webhookUsername,
      webhookPassword,
      timeoutMs: readInt(env, "ADYEN_TIMEOUT_MS", 10_000, 100, 120_000),
    },
    apiKeys: readApiKeys(apiKeysText),
    returnUrlAllowlist: readAllowlist(allowlistText),
    simulator: simulated
      ? {
          url: externalSimulator ? readHttpUrl("SIMULATOR_URL", env.SIMULATOR_URL!) : null,
          port: readInt(env, "SIMULATOR_PORT", port === 0 ? 0 : port + 1, 0, 65535),
          webhookDelayMs: readInt(env, "SIMULATOR_WEBHOOK_DELAY_MS", 1000, 0, 3_600_000),
          pendingDelayMs: readInt(env, "SIMULATOR_PENDING_DELAY_MS", 10_000, 0, 3_600_000),
          offerTtlMs: readInt(env, "SIMULATOR_OFFER_TTL_SECONDS", 900, 1, 86_400) * 1000,
        }
      : null,
    generatedDevApiKey,
  };
}

function secret(bytes = 24): string {
  return randomBytes(bytes).toString("base64url");
}

function readEnum<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = env[name] || fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(name, `must be one of ${allowed.join(", ")}`);
  return value as T;
}

function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || text === "") return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max}`);
  }
  return Number(text);
}

function readDatabaseUrl(env: Env): string {
  const url = env.DATABASE_URL || "file:./data/gateway.db";
  if (url.startsWith("file:")) {
    if (url.length === "file:".length) throw new ConfigError("DATABASE_URL", "must be file:PATH (SQLite) or postgres://… (PostgreSQL)");
    return url;
  }
  // Never echoed: the URL may carry the database password.
  const parsed = URL.canParse(url) ? new URL(url) : null;
  if (!parsed || (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") || parsed.hostname === "") {
    throw new ConfigError("DATABASE_URL", "must be file:PATH (SQLite) or postgres://HOST[:PORT]/DATABASE (PostgreSQL)");
  }
  return url;
}

/** Where a DATABASE_URL points, for messages: the file, or host, port and database without the credentials. */
export function databaseServer(url: string): string {
  if (url.startsWith("file:")) return url;
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`;
}

function readHttpUrl(name: string, value: string): string {
  const url = URL.canParse(value) ? new URL(value) : null;
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) throw new ConfigError(name, "must be an http(s) URL");
  return url.origin;
}

function readHmacKey(name: string, value: string): string {
  if (!/^(?:[0-9A-Fa-f]{2}){16,}$/.test(value)) throw new ConfigError(name, "must be the hex HMAC key from Adyen's Customer Area");
  return value;
}

/** A name may have several secrets: that is how a key is rotated without the app losing its payments. */
function readApiKeys(text: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const pair of text.split(",")) {
    const colon = pair.indexOf(":");
    const name = pair.slice(0, colon).trim();
    const key = pair.slice(colon + 1).trim();
    if (colon < 1 || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
      throw new ConfigError("GATEWAY_API_KEYS", "must be comma-separated name:secret pairs (name: letters, digits, _ . -)");
    }
    if (!/^[\x21-\x7e]{16,256}$/.test(key)) {
      throw new ConfigError("GATEWAY_API_KEYS", `secret of '${name}' must be 16–256 printable characters`);
    }
    if (keys.has(key)) throw new ConfigError("GATEWAY_API_KEYS", `has the secret of '${name}' twice`);
    keys.set(key, name);
  }
  return keys;
}

function readAllowlist(text: string): string[] {
  return text.split(",").map((entry) => {
    const value = entry.trim();
    const scheme = /^([a-z][a-z0-9+.-]*):\/\/$/i.exec(value)?.[1]?.toLowerCase();
    if (scheme && !["http", "https", "javascript", "data", "file", "vbscript", "blob"].includes(scheme)) return value;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError("RETURN_URL_ALLOWLIST", `entry '${value}' is neither an origin nor an app scheme like myapp://`);
    }
    if ((url.protocol !== "https:" && url.protocol !== "http:") || url.origin !== value.replace(/\/$/, "")) {
      throw new ConfigError("RETURN_URL_ALLOWLIST", `entry '${value}' must be an origin such as https://shop.example`);
    }
    return url.origin;
  });
}
