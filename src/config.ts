import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import { LOG_LEVELS, type LogLevel } from "./observability/logger.js";

export type AdyenEnvironment = "simulator" | "test" | "live";

/** The gateway's whole configuration, read once from the environment (docs/contract.md, "Environment"). */
export interface Config {
  port: number;
  /** Interface to listen on: loopback in simulator mode, every interface in test and live. */
  host: string;
  /** `NODE_ENV=production`: no Sandbox, no introspection, no stack traces. */
  production: boolean;
  /** LOG_LEVEL: pino's level names. */
  logLevel: LogLevel;
  /** METRICS_PORT; null when it is 0 (no /metrics listener). A program may set 0 here: any free port. */
  metricsPort: number | null;
  /** OTEL_EXPORTER_OTLP_ENDPOINT is set: spans are made (and exported by the SDK that otel-register.ts starts). */
  tracing: boolean;
  databaseUrl: string;
  /** Status changes fan out through this Redis to every instance; null: in this process only. */
  redisUrl: string | null;
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
  /** Hex keys client secrets are derived with: the current key first; the previous one is accepted during a rotation. */
  clientSecretKeys: string[];
  /** Printed at start in simulator mode, so a developer can call the API at once. */
  generatedDevApiKey: string | null;
  /** Simulator mode: CLIENT_SECRET_KEY was not set and this one was generated. */
  generatedClientSecretKey: string | null;
  /** Where the generated dev key is kept across restarts (set by dev-secrets.ts, not by the environment). */
  devApiKeyFile: string | null;
  limits: Limits;
}

/** What one client may hold of the gateway (README "Security" lists them with their variables). */
export interface Limits {
  /** A request's headers must have arrived within this. */
  headersTimeoutMs: number;
  /** A whole request, body included, must have arrived within this. */
  requestTimeoutMs: number;
  /** Open connections served on every route; above it, only webhooks and health checks. */
  maxConnections: number;
  /** Connections kept beyond maxConnections for /webhooks/adyen, /healthz and /readyz. */
  reservedConnections: number;
  maxSocketsPerKey: number;
  maxSubscriptionsPerSocket: number;
  /** Operations calling Adyen that one API key may send per minute. */
  adyenOperationsPerMinute: number;
  /** How long one paymentMethods answer of Adyen is reused for the same input. */
  paymentMethodsCacheMs: number;
  /** A shopper's stored methods are looked up at Adyen at most once per this. */
  storedMethodsLookupIntervalMs: number;
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
  const clientSecretKeyText = required("CLIENT_SECRET_KEY");
  const generatedClientSecretKey = clientSecretKeyText === undefined ? randomBytes(32).toString("hex") : null;
  const clientSecretKeys = [readClientSecretKey("CLIENT_SECRET_KEY", clientSecretKeyText ?? generatedClientSecretKey!)];
  if (env.CLIENT_SECRET_KEY_PREVIOUS) {
    clientSecretKeys.push(readClientSecretKey("CLIENT_SECRET_KEY_PREVIOUS", env.CLIENT_SECRET_KEY_PREVIOUS));
  }
  const allowlistText = required("RETURN_URL_ALLOWLIST") ?? "http://localhost,http://127.0.0.1";

  const port = readInt(env, "PORT", 4000, 0, 65535);
  const host = env.HOST || (simulated ? "127.0.0.1" : "0.0.0.0");
  if (isIP(host) === 0 && host !== "localhost") throw new ConfigError("HOST", "must be an IP address such as 0.0.0.0 or 127.0.0.1");
  return {
    port,
    host,
    production: env.NODE_ENV === "production",
    logLevel: readEnum(env, "LOG_LEVEL", LOG_LEVELS, "info"),
    metricsPort: readInt(env, "METRICS_PORT", 9464, 0, 65535) || null,
    tracing: Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT),
    databaseUrl: readDatabaseUrl(env),
    redisUrl: readRedisUrl(env),
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
    clientSecretKeys,
    generatedDevApiKey,
    generatedClientSecretKey,
    devApiKeyFile: null,
    limits: readLimits(env),
  };
}

function readLimits(env: Env): Limits {
  const headersTimeoutMs = readInt(env, "HTTP_HEADERS_TIMEOUT_MS", 5_000, 100, 300_000);
  const requestTimeoutMs = readInt(env, "HTTP_REQUEST_TIMEOUT_MS", 15_000, 100, 600_000);
  // node:http refuses a header timeout longer than the whole request's.
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError("HTTP_HEADERS_TIMEOUT_MS", "must not exceed HTTP_REQUEST_TIMEOUT_MS");
  }
  return {
    headersTimeoutMs,
    requestTimeoutMs,
    maxConnections: readInt(env, "MAX_CONNECTIONS", 10_000, 1, 1_000_000),
    reservedConnections: readInt(env, "RESERVED_CONNECTIONS", 100, 1, 100_000),
    maxSocketsPerKey: readInt(env, "MAX_SOCKETS_PER_KEY", 100, 1, 1_000_000),
    maxSubscriptionsPerSocket: readInt(env, "MAX_SUBSCRIPTIONS_PER_SOCKET", 100, 1, 100_000),
    adyenOperationsPerMinute: readInt(env, "ADYEN_RATE_LIMIT_PER_MINUTE", 600, 1, 1_000_000),
    paymentMethodsCacheMs: readInt(env, "PAYMENT_METHODS_CACHE_SECONDS", 60, 0, 3_600) * 1000,
    storedMethodsLookupIntervalMs: readInt(env, "STORED_METHODS_LOOKUP_SECONDS", 10, 0, 3_600) * 1000,
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

/** The message never repeats the URL: it may hold a password. */
function readRedisUrl(env: Env): string | null {
  const text = env.REDIS_URL;
  if (text === undefined || text === "") return null;
  const url = URL.canParse(text) ? new URL(text) : null;
  if (!url || (url.protocol !== "redis:" && url.protocol !== "rediss:") || !url.hostname) {
    throw new ConfigError("REDIS_URL", "must be redis://[user:password@]host[:port][/db] or rediss://…");
  }
  if (url.pathname !== "" && url.pathname !== "/" && !/^\/\d{1,2}$/.test(url.pathname)) {
    throw new ConfigError("REDIS_URL", "must name a database by its number, such as /0");
  }
  return text;
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

function readClientSecretKey(name: string, value: string): string {
  if (!/^(?:[0-9A-Fa-f]{2}){32,}$/.test(value)) throw new ConfigError(name, "must be a hex key of at least 32 bytes (64 hex digits)");
  return value;
}

/**
 * A name may have several secrets: that is how a key is rotated without the app losing its payments. Errors name
 * the entry by its position only: a secret written where the name belongs must not be printed.
 */
function readApiKeys(text: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const [index, pair] of text.split(",").entries()) {
    const entry = `entry ${index + 1}`;
    const colon = pair.indexOf(":");
    const name = pair.slice(0, colon).trim();
    const key = pair.slice(colon + 1).trim();
    if (colon < 1 || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
      throw new ConfigError("GATEWAY_API_KEYS", `${entry} must be name:secret (name: letters, digits, _ . -)`);
    }
    if (!/^[\x21-\x7e]{16,256}$/.test(key)) {
      throw new ConfigError("GATEWAY_API_KEYS", `${entry}: the secret must be 16–256 printable characters`);
    }
    if (keys.has(key)) throw new ConfigError("GATEWAY_API_KEYS", `${entry} repeats the secret of an earlier entry`);
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
