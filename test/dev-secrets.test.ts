import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { keepGeneratedSecrets } from "../src/dev-secrets.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function simulatorEnv(extra: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "kakaopay-dev-secrets-"));
  dirs.push(dir);
  return { dir, env: { DATABASE_URL: `file:${join(dir, "data", "gateway.db")}`, ...extra } };
}

describe("generated secrets kept beside the database (simulator mode)", () => {
  it("reuses the dev key and the client-secret key of the previous start", () => {
    const { dir, env } = simulatorEnv();
    const first = keepGeneratedSecrets(loadConfig(env));
    const second = keepGeneratedSecrets(loadConfig(env));
    expect(second.generatedDevApiKey).toBe(first.generatedDevApiKey);
    expect(second.apiKeys).toEqual(new Map([[first.generatedDevApiKey!, "dev"]]));
    expect(second.clientSecretKeys).toEqual(first.clientSecretKeys);
    expect(second.devApiKeyFile).toBe(join(dir, "data", "dev-api-key"));
    expect(readFileSync(join(dir, "data", "dev-api-key"), "utf8").trim()).toBe(first.generatedDevApiKey);
  });

  it("replaces a stored file that does not hold such a key, and makes it owner-only", () => {
    const { dir, env } = simulatorEnv();
    keepGeneratedSecrets(loadConfig(env));
    const file = join(dir, "data", "client-secret-key");
    writeFileSync(file, "not a key\n", { mode: 0o644 });
    const config = keepGeneratedSecrets(loadConfig(env));
    expect(config.clientSecretKeys[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(file, "utf8").trim()).toBe(config.clientSecretKeys[0]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("keeps the previous client-secret key from the environment after the stored current one", () => {
    const previous = "a0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8e9f";
    const { env } = simulatorEnv({ CLIENT_SECRET_KEY_PREVIOUS: previous });
    const config = keepGeneratedSecrets(loadConfig(env));
    expect(config.clientSecretKeys).toHaveLength(2);
    expect(config.clientSecretKeys[1]).toBe(previous);
  });

  it("writes nothing for values set in the environment", () => {
    const { dir, env } = simulatorEnv({
      GATEWAY_API_KEYS: "shop:0123456789abcdef0123",
      CLIENT_SECRET_KEY: "6f1c2b3a4d5e6f708192a3b4c5d6e7f80112233445566778899aabbccddeeff0",
    });
    const config = keepGeneratedSecrets(loadConfig(env));
    expect(config.devApiKeyFile).toBeNull();
    expect(existsSync(join(dir, "data"))).toBe(false);
  });

  it("keeps nothing, and writes no file, when DATABASE_URL is PostgreSQL (no SQLite file to sit beside)", () => {
    const config = loadConfig({ DATABASE_URL: "postgres://127.0.0.1:5432/gateway" });
    const kept = keepGeneratedSecrets(config);
    expect(kept).toBe(config);
    expect(kept.devApiKeyFile).toBeNull();
    // What slicing "file:" off a postgres:// URL would name as a directory.
    expect(existsSync(resolve("res:"))).toBe(false);
  });
});
