import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";

const HMAC = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";
const TEST_ENV = {
  ADYEN_ENVIRONMENT: "test",
  ADYEN_API_KEY: "AQE-test-key-value",
  ADYEN_MERCHANT_ACCOUNT: "ShopECOM",
  ADYEN_HMAC_KEY: HMAC,
  ADYEN_WEBHOOK_USERNAME: "adyen",
  ADYEN_WEBHOOK_PASSWORD: "secret-password",
  GATEWAY_API_KEYS: "shop:0123456789abcdef0123",
  RETURN_URL_ALLOWLIST: "https://shop.example,myapp://",
  CLIENT_SECRET_KEY: "6f1c2b3a4d5e6f708192a3b4c5d6e7f80112233445566778899aabbccddeeff0",
};

function failure(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("loadConfig accepted it");
}

describe("configuration", () => {
  it("needs nothing in simulator mode, and generates the secrets", () => {
    const config = loadConfig({});
    expect(config.adyen.environment).toBe("simulator");
    expect(config.adyen.merchantAccount).toBe("KakaoPayGatewaySimulator");
    expect(config.adyen.hmacKeys[0]).toMatch(/^[0-9A-F]{64}$/);
    expect(config.generatedDevApiKey).toBeTruthy();
    expect(config.apiKeys.get(config.generatedDevApiKey!)).toBe("dev");
    expect(config.clientSecretKeys).toHaveLength(1);
    expect(config.clientSecretKeys[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(config.returnUrlAllowlist).toEqual(["http://localhost", "http://127.0.0.1"]);
    expect(config.databaseUrl).toBe("file:./data/gateway.db");
    expect(config.port).toBe(4000);
    expect(config.host).toBe("127.0.0.1");
  });

  it("accepts a complete test configuration", () => {
    const config = loadConfig(TEST_ENV);
    expect(config.adyen).toMatchObject({ environment: "test", merchantAccount: "ShopECOM", hmacKeys: [HMAC] });
    expect(config.simulator).toBeNull();
    expect(config.host).toBe("0.0.0.0");
    expect(config.generatedDevApiKey).toBeNull();
  });

  it.each(Object.keys(TEST_ENV).filter((k) => k !== "ADYEN_ENVIRONMENT"))("stops test mode without %s, naming it", (name) => {
    const error = failure({ ...TEST_ENV, [name]: undefined });
    expect(error.variable).toBe(name);
    expect(error.message).toContain(name);
  });

  it.each([
    ["ADYEN_ENVIRONMENT", "staging"],
    ["ADYEN_HMAC_KEY", "not-hex"],
    ["ADYEN_HMAC_KEY_PREVIOUS", "1234"],
    ["CLIENT_SECRET_KEY", "not-hex-not-hex-not-hex-not-hex-not-hex-not-hex-not-hex-not-hex!"],
    ["CLIENT_SECRET_KEY", "0123456789abcdef0123456789abcdef"],
    ["CLIENT_SECRET_KEY_PREVIOUS", "abcd"],
    ["GATEWAY_API_KEYS", "no-colon"],
    ["GATEWAY_API_KEYS", "shop:short"],
    ["GATEWAY_API_KEYS", "a:0123456789abcdef0123,b:0123456789abcdef0123"],
    ["RETURN_URL_ALLOWLIST", "https://shop.example/path"],
    ["RETURN_URL_ALLOWLIST", "javascript://"],
    ["PORT", "70000"],
    ["PORT", "80a"],
    ["HOST", "not a host"],
    ["DATABASE_URL", "mysql://root:s3cret-password@db/test"],
    ["DATABASE_URL", "postgres://root:s3cret-password@/test"],
    ["ADYEN_TIMEOUT_MS", "-1"],
    ["SIMULATOR_WEBHOOK_DELAY_MS", "1.5"],
    ["SIMULATOR_OFFER_TTL_SECONDS", "ten"],
  ])("refuses a malformed %s, naming it", (name, value) => {
    const env = name.startsWith("SIMULATOR_") ? { [name]: value } : { ...TEST_ENV, [name]: value };
    const error = failure(env);
    expect(error.variable).toBe(name);
    // Secrets are never echoed back.
    if (/KEY|PASSWORD/.test(name)) expect(error.message).not.toContain(value);
    expect(error.message).not.toContain("s3cret-password");
  });

  // Every secret variable, with malformed values built around a marker: no part of it may reach the message.
  const MARKER = "Qz7xK9pWv3Bj8mN2";
  const SECRET_CASES: Array<[string, string]> = [
    ["GATEWAY_API_KEYS", `${MARKER}:`],
    ["GATEWAY_API_KEYS", `${MARKER}0123456789:shop`],
    ["GATEWAY_API_KEYS", MARKER],
    ["GATEWAY_API_KEYS", `shop:${MARKER}\u0000`],
    ["GATEWAY_API_KEYS", `shop:${MARKER},${MARKER}:x`],
    ["GATEWAY_API_KEYS", `a:${MARKER}0123,b:${MARKER}0123`],
    ["GATEWAY_API_KEYS", `${MARKER}!:${MARKER}0123456789`],
    ["ADYEN_API_KEY", `${MARKER} ${MARKER}`],
    ["ADYEN_API_KEY", `\t${MARKER}`],
    ["ADYEN_HMAC_KEY", MARKER],
    ["ADYEN_HMAC_KEY", `${HMAC}${MARKER}`],
    ["ADYEN_HMAC_KEY_PREVIOUS", MARKER],
    ["ADYEN_HMAC_KEY_PREVIOUS", `${MARKER}00`],
    ["DATABASE_URL", `postgres://user:${MARKER}@/gateway`],
    ["DATABASE_URL", `mysql://root:${MARKER}@localhost/gateway`],
    ["CLIENT_SECRET_KEY", MARKER],
    ["CLIENT_SECRET_KEY", `${HMAC}${MARKER}`],
    ["CLIENT_SECRET_KEY_PREVIOUS", `${MARKER}00`],
  ];
  it.each(SECRET_CASES)("never prints any part of a malformed %s (%#)", (name, value) => {
    const error = failure({ ...TEST_ENV, [name]: value });
    expect(error.variable).toBe(name);
    for (let i = 0; i + 6 <= MARKER.length; i++) expect(error.message).not.toContain(MARKER.slice(i, i + 6));
  });

  it("lets one app have two secrets while its key is rotated", () => {
    const config = loadConfig({ ...TEST_ENV, GATEWAY_API_KEYS: "shop:old-secret-0123456789,shop:new-secret-0123456789" });
    expect([...config.apiKeys.values()]).toEqual(["shop", "shop"]);
  });

  it("accepts the previous client-secret key during a rotation, after the current one", () => {
    const previous = "a0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8e9f";
    const config = loadConfig({ ...TEST_ENV, CLIENT_SECRET_KEY_PREVIOUS: previous });
    expect(config.clientSecretKeys).toEqual([TEST_ENV.CLIENT_SECRET_KEY, previous]);
  });

  it("requires the shared secrets when the simulator runs in its own process", () => {
    expect(failure({ SIMULATOR_URL: "http://127.0.0.1:4001" }).variable).toBe("ADYEN_API_KEY");
  });

  it("requires ADYEN_LIVE_URL_PREFIX in live mode", () => {
    expect(failure({ ...TEST_ENV, ADYEN_ENVIRONMENT: "live" }).variable).toBe("ADYEN_LIVE_URL_PREFIX");
  });

  it("stops the real process with one JSON log line naming the variable", () => {
    const result = spawnSync(process.execPath, ["--input-type=module", "-e", "await import('./dist/src/main.js')"], {
      env: { ...process.env, ...TEST_ENV, ADYEN_HMAC_KEY: "zz" },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe("");
    const lines = result.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: "error",
      variable: "ADYEN_HMAC_KEY",
      msg: "Configuration error: ADYEN_HMAC_KEY must be the hex HMAC key from Adyen's Customer Area",
    });
  });

  it("has short HTTP timeouts and the documented limits by default, each set by its variable", () => {
    expect(loadConfig(TEST_ENV).limits).toEqual({
      headersTimeoutMs: 5_000,
      requestTimeoutMs: 15_000,
      maxConnections: 10_000,
      reservedConnections: 100,
      maxSocketsPerKey: 100,
      maxSubscriptionsPerSocket: 100,
      adyenOperationsPerMinute: 600,
      paymentMethodsCacheMs: 60_000,
      storedMethodsLookupIntervalMs: 10_000,
    });
    expect(loadConfig({ ...TEST_ENV, MAX_SOCKETS_PER_KEY: "3", PAYMENT_METHODS_CACHE_SECONDS: "0" }).limits).toMatchObject({
      maxSocketsPerKey: 3,
      paymentMethodsCacheMs: 0,
    });
    expect(failure({ ...TEST_ENV, MAX_CONNECTIONS: "0" }).variable).toBe("MAX_CONNECTIONS");
    expect(failure({ ...TEST_ENV, HTTP_HEADERS_TIMEOUT_MS: "20000", HTTP_REQUEST_TIMEOUT_MS: "10000" }).message).toBe(
      "HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS",
    );
  });

  it("stops the real process with one line naming DATABASE_URL, never its password, when PostgreSQL cannot be reached", () => {
    const result = spawnSync(process.execPath, ["--input-type=module", "-e", "await import('./dist/src/main.js')"], {
      // Port 1 on the loopback: nothing listens there.
      env: {
        ...process.env,
        ...TEST_ENV,
        PORT: "0",
        METRICS_PORT: "0",
        DATABASE_URL: "postgres://gateway:s3cret-password@127.0.0.1:1/payments",
      },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe("");
    const lines = result.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as { level: string; variable: string; msg: string };
    expect(line).toMatchObject({ level: "error", variable: "DATABASE_URL" });
    expect(line.msg).toMatch(/^Configuration error: DATABASE_URL cannot open the database at 127\.0\.0\.1:1\/payments/);
    expect(result.stderr + result.stdout).not.toContain("s3cret-password");
  });
});
