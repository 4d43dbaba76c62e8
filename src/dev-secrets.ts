import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Config } from "./config.js";

/**
 * Simulator mode: the secrets config.ts generated (the dev API key, the client-secret key) are kept in files beside
 * the SQLite database and reused at the next start, so Sandbox headers, scripts and client secrets survive a restart.
 * Values set in the environment are never written anywhere. With PostgreSQL they are generated anew at each start.
 */
export function keepGeneratedSecrets(config: Config): Config {
  // PostgreSQL (postgres://…) has no file to sit beside, nor has an in-memory database (file::memory:): generated anew.
  if (!config.simulator || !config.databaseUrl.startsWith("file:")) return config;
  const path = config.databaseUrl.slice("file:".length);
  if (path.startsWith(":")) return config;
  const dir = dirname(resolve(path));
  let kept = config;
  if (config.generatedDevApiKey) {
    const file = join(dir, "dev-api-key");
    const key = readOrKeep(file, config.generatedDevApiKey, /^dev_[A-Za-z0-9_-]{16,200}$/);
    kept = { ...kept, generatedDevApiKey: key, apiKeys: new Map([[key, "dev"]]), devApiKeyFile: file };
  }
  if (config.generatedClientSecretKey) {
    const key = readOrKeep(join(dir, "client-secret-key"), config.generatedClientSecretKey, /^(?:[0-9a-f]{2}){32,}$/);
    kept = { ...kept, generatedClientSecretKey: key, clientSecretKeys: [key, ...config.clientSecretKeys.slice(1)] };
  }
  return kept;
}

/** The value stored in `file`, or `generated` written there (owner-only) when the file is missing or not such a value. */
function readOrKeep(file: string, generated: string, format: RegExp): string {
  if (existsSync(file)) {
    const stored = readFileSync(file, "utf8").trim();
    if (format.test(stored)) return stored;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${generated}\n`, { mode: 0o600 });
  // mode applies only when the file is created; an existing file is made owner-only too.
  chmodSync(file, 0o600);
  return generated;
}
