import { mkdtempSync, rmSync } from "node:fs";
import Database from "better-sqlite3";
import pg from "pg";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { type Gateway, type GatewayTuning, startGateway } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { withUser } from "../../src/store/pg/database.js";
import { dropTestSchema, E2E_ON_POSTGRES, schemaFor, testSchemaUrl } from "./database.js";
import { memoryLogger } from "./logger.js";

export const ALPHA_KEY = "alpha-secret-0123456789abcdef";
export const BETA_KEY = "beta-secret-0123456789abcdef01";
export const HMAC_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";
export const PREVIOUS_HMAC_KEY = "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00";
export const WEBHOOK_USER = "adyen-test";
export const WEBHOOK_PASSWORD = "webhook-password-0123";
export const MERCHANT_ACCOUNT = "KakaoPayGatewaySimulator";
export const CLIENT_SECRET_KEY = "6f1c2b3a4d5e6f708192a3b4c5d6e7f80112233445566778899aabbccddeeff0";

export interface GraphQLResponse<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

/** A typed GraphQL operation over real HTTP against any gateway URL. */
export async function graphqlRequest<TResult, TVariables>(
  url: string,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  apiKey: string | null = ALPHA_KEY,
): Promise<GraphQLResponse<TResult>> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return (await response.json()) as GraphQLResponse<TResult>;
}

/**
 * A real gateway on an ephemeral port, with the real simulator, on a fresh SQLite file, or in the postgres project on
 * a fresh schema of TEST_DATABASE_URL named after `dir` (so a gateway restarted on the same dir finds its rows).
 */
export class TestGateway {
  private sockets: Client[] = [];

  private constructor(
    readonly gateway: Gateway,
    readonly dir: string,
    readonly lines: string[],
    /** The gateway's DATABASE_URL: to reach its rows from a test. */
    readonly databaseUrl: string,
  ) {}

  /** Every log line of the gateway and its simulator, as the JSON text pino wrote. */
  logs(): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** `metrics`: serve /metrics on a free port (METRICS_PORT=0 turns it off, as in docs/contract.md). */
  static async start(
    env: Record<string, string> = {},
    dir = mkdtempSync(join(tmpdir(), "kakaopay-gw-")),
    { metrics = false, ...tuning }: GatewayTuning & { metrics?: boolean } = {},
  ): Promise<TestGateway> {
    const lines: string[] = [];
    const config = loadConfig({
      ADYEN_ENVIRONMENT: "simulator",
      PORT: "0",
      METRICS_PORT: "0",
      DATABASE_URL: E2E_ON_POSTGRES ? await testSchemaUrl(schemaFor(dir)) : `file:${join(dir, "gateway.db")}`,
      GATEWAY_API_KEYS: `alpha:${ALPHA_KEY},beta:${BETA_KEY}`,
      RETURN_URL_ALLOWLIST: "https://shop.example,myapp://,http://localhost",
      ADYEN_HMAC_KEY: HMAC_KEY,
      ADYEN_HMAC_KEY_PREVIOUS: PREVIOUS_HMAC_KEY,
      ADYEN_WEBHOOK_USERNAME: WEBHOOK_USER,
      ADYEN_WEBHOOK_PASSWORD: WEBHOOK_PASSWORD,
      ADYEN_TIMEOUT_MS: "1500",
      CLIENT_SECRET_KEY,
      SIMULATOR_WEBHOOK_DELAY_MS: "60000",
      SIMULATOR_PENDING_DELAY_MS: "60000",
      ...env,
    });
    if (metrics) config.metricsPort = 0;
    const gateway = await startGateway(config, memoryLogger(lines), tuning);
    return new TestGateway(gateway, dir, lines, config.databaseUrl);
  }

  get url(): string {
    return this.gateway.url;
  }

  get simulator() {
    const simulator = this.gateway.simulator;
    if (!simulator) throw new Error("no simulator");
    return simulator;
  }

  /** A typed GraphQL operation over real HTTP. */
  request<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
    apiKey: string | null = ALPHA_KEY,
  ): Promise<GraphQLResponse<TResult>> {
    return graphqlRequest(this.url, document, variables, apiKey);
  }

  /** Like request, but fails the test on any GraphQL error. */
  async data<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
    apiKey: string | null = ALPHA_KEY,
  ): Promise<TResult> {
    const result = await this.request(document, variables, apiKey);
    if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
    return result.data;
  }

  /** A real graphql-ws client, closed with the gateway; `apiKey` is any bearer credential (a client secret too). */
  ws(apiKey: string | null = ALPHA_KEY): Client {
    const client = createClient({
      url: `${this.url.replace("http", "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      retryAttempts: 0,
      lazy: true,
    });
    this.sockets.push(client);
    return client;
  }

  async close({ keepData = false } = {}): Promise<void> {
    await Promise.all(this.sockets.map((s) => s.dispose()));
    await this.gateway.close();
    if (keepData) return;
    rmSync(this.dir, { recursive: true, force: true });
    if (E2E_ON_POSTGRES) await dropTestSchema(schemaFor(this.dir));
  }
}

/** The shopper on the hosted KakaoPay page: opens action.url, picks an outcome, follows nothing. */
export async function chooseOutcome(actionUrl: string, outcome: string): Promise<{ location: string; redirectResult: string }> {
  const page = await fetch(actionUrl);
  if (page.status !== 200) throw new Error(`hosted page answered ${page.status}`);
  const response = await fetch(actionUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ outcome }).toString(),
    redirect: "manual",
  });
  if (response.status !== 303) throw new Error(`hosted page POST answered ${response.status}`);
  const location = response.headers.get("location")!;
  const redirectResult = new URL(location).searchParams.get("redirectResult");
  if (!redirectResult) throw new Error(`no redirectResult in ${location}`);
  return { location, redirectResult };
}

/** Polls until `check` passes; for states reached through background webhooks. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/**
 * Rows of one table, read straight from the gateway's database: what is durably there, in the order they were written.
 * On PostgreSQL, values come back as SQLite holds them (times in ms, booleans 0/1), so a test reads both alike.
 */
export async function tableRows(
  gw: TestGateway | { dir: string },
  table: "notification_inbox" | "payments" | "payment_events" | "refunds" | "stored_payment_methods" | "idempotency_keys",
): Promise<Array<Record<string, unknown>>> {
  if (gw instanceof TestGateway && !gw.databaseUrl.startsWith("file:")) return pgRows(gw.databaseUrl, table);
  const db = new Database(join(gw.dir, "gateway.db"), { readonly: true });
  try {
    return db.prepare(`select * from ${table} order by rowid`).all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
}

const WRITE_ORDER: Record<string, string> = {
  notification_inbox: "id",
  payments: "created_at, id",
  payment_events: "occurred_at, payment_id, version",
  refunds: "created_at, id",
  stored_payment_methods: "created_at, id",
  idempotency_keys: "created_at, owner, key",
};

async function pgRows(databaseUrl: string, table: string): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: withUser(databaseUrl) });
  await client.connect();
  try {
    const { rows } = await client.query<Record<string, unknown>>(`select * from ${table} order by ${WRITE_ORDER[table]}`);
    return rows.map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([column, value]) => {
          if (value instanceof Date) return [column, value.getTime()];
          if (typeof value === "boolean") return [column, Number(value)];
          if (column === "amount_value") return [column, Number(value)];
          if (column === "action" && value !== null) return [column, JSON.stringify(value)];
          return [column, value];
        }),
      ),
    );
  } finally {
    await client.end();
  }
}
