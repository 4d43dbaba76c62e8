import { basename } from "node:path";
import pg from "pg";
import { withUser } from "../../src/store/pg/database.js";

/** Set by .ci/run (or by hand): the PostgreSQL server the store tests and the PostgreSQL e2e project use. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || null;

/** The e2e suite's store for this vitest project: "postgres" in the postgres project (vitest.config.ts). */
export const E2E_ON_POSTGRES = process.env.TEST_STORE === "postgres";

/** A schema's name for a test's directory: the same directory (a restarted gateway) finds the same rows. */
export function schemaFor(dir: string): string {
  return `t_${basename(dir)
    .replace(/[^a-zA-Z0-9]/g, "_")
    .toLowerCase()}`;
}

/** TEST_DATABASE_URL with its own schema: each run sees only its own rows (tables and migrations journal alike). */
export async function testSchemaUrl(schema: string): Promise<string> {
  if (!TEST_DATABASE_URL) throw new Error("TEST_DATABASE_URL is not set");
  await onServer(`create schema if not exists "${schema}"`);
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set("options", `-c search_path=${schema}`);
  // Names the run's connections in pg_stat_activity, so that a test terminates its own and never another run's.
  url.searchParams.set("application_name", schema);
  return url.toString();
}

export async function dropTestSchema(schema: string): Promise<void> {
  await onServer(`drop schema if exists "${schema}" cascade`);
}

async function onServer(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: withUser(TEST_DATABASE_URL!) });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
