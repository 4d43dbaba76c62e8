import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { type SQL, sql } from "drizzle-orm";
import { type BetterSQLite3Database, drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import * as schema from "./schema.js";

export type SqliteDatabase = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

/** drizzle/sqlite beside package.json, reached from src/ (vitest) and from dist/src/ (the built server) alike. */
function migrationsFolder(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, "package.json"))) {
    if (dirname(dir) === dir) throw new Error("package.json not found above the store");
    dir = dirname(dir);
  }
  return resolve(dir, "drizzle/sqlite");
}

/**
 * Opens (creating if needed) the SQLite file and applies pending migrations. WAL with synchronous=FULL:
 * a webhook we acknowledged survives a power cut, not only a crash.
 */
export function openSqlite(path: string): SqliteDatabase {
  if (path !== ":memory:") mkdirSync(dirname(resolve(path)), { recursive: true });
  const client = new Database(path);
  client.pragma("journal_mode = WAL");
  client.pragma("synchronous = FULL");
  client.pragma("busy_timeout = 5000");
  client.pragma("foreign_keys = ON");
  const db = drizzle(client, { schema });
  migrate(db, { migrationsFolder: migrationsFolder() });
  // A file we can read but not write (read-only, locked by another writer, full disk) must stop the start.
  probeWrite(client);
  return db;
}

/**
 * A real committed write that changes nothing: rewrites the header's user_version (unused here) with its own value.
 * Throws what any write would (SQLITE_READONLY, SQLITE_BUSY, SQLITE_FULL, ...).
 */
export function probeWrite(client: Database.Database): void {
  const version = client.pragma("user_version", { simple: true }) as number;
  client.pragma(`user_version = ${version}`);
}

/**
 * A placeholder for update().set(): drizzle binds it through the column's encoder (dates, JSON, booleans), but its
 * types accept only values there.
 */
export function setPlaceholder(name: string): SQL {
  return sql.placeholder(name) as unknown as SQL;
}
