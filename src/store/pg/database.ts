import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import * as schema from "./schema.js";

export type PgDatabase = NodePgDatabase<typeof schema> & { $client: pg.Pool };
/** A drizzle handle inside a transaction: what the stores' units of work run on. */
export type PgTransaction = Parameters<Parameters<PgDatabase["transaction"]>[0]>[0];

/** drizzle/pg beside package.json, reached from src/ (vitest) and from dist/src/ (the built server) alike. */
function migrationsFolder(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, "package.json"))) {
    if (dirname(dir) === dir) throw new Error("package.json not found above the store");
    dir = dirname(dir);
  }
  return resolve(dir, "drizzle/pg");
}

/**
 * Opens a pool and applies pending migrations under an advisory lock, so that instances starting at once on an empty
 * database migrate it once. The migrations and their journal go to the connection's current schema (its search_path),
 * which lets each test run use a schema of its own.
 */
export async function openPostgres(url: string, poolSize: number): Promise<PgDatabase> {
  const pool = new pg.Pool({ connectionString: withUser(url), max: poolSize, connectionTimeoutMillis: 5_000 });
  // A connection the server dropped while idle (a restart, pg_terminate_backend) is discarded by the pool; without a
  // listener its error would end the process, and the next query opens a fresh connection instead.
  pool.on("error", () => {});
  // While checked out (a transaction) a connection has no pool listener: its query fails and the transaction rolls
  // back, but the client's own "error" event, unheard, would end the process too. The pool discards it on release.
  pool.on("connect", (client) => client.on("error", () => {}));
  try {
    const client = await pool.connect();
    try {
      const { rows } = await client.query<{ schema: string | null }>("select current_schema() as schema");
      const current = rows[0]?.schema;
      if (!current) throw new Error("the connection has no current schema (search_path names none that exists)");
      const lock = `kakaopay-gateway:migrate:${current}`;
      await client.query("select pg_advisory_lock(hashtext($1))", [lock]);
      try {
        await migrate(drizzle(client), { migrationsFolder: migrationsFolder(), migrationsSchema: current });
      } finally {
        await client.query("select pg_advisory_unlock(hashtext($1))", [lock]);
      }
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end();
    throw error;
  }
  return drizzle(pool, { schema });
}

/** A URL without a user name means the OS user, as psql has it (pg would read $USER, which a service may lack). */
export function withUser(url: string): string {
  const parsed = new URL(url);
  if (parsed.username) return url;
  parsed.username = userInfo().username;
  return parsed.toString();
}
