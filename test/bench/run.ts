/**
 * `npm run bench [-- --quick] [--only=2,3] [--profile] [--save=FILE] [--compare=FILE] [--connections=50] [--webhook-rate=500]
 * [--database=postgres]`
 *
 * Every scenario of BENCHMARKS.md against the built gateway in its own process, the simulator in another, a raw
 * node:http baseline in a third, and each load generator in a process of its own; then one table. The payments a
 * scenario needs are made through the gateway's GraphQL API before its measured run, and its effects are checked
 * after it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { withUser } from "../../src/store/pg/database.js";
import { coresUsed, cpuSnapshot, quietMachine } from "./cpu.js";
import {
  ADYEN_API_KEY,
  API_KEY,
  authorisationWebhook,
  GRAPHQL_HEADERS,
  HMAC_KEY,
  MERCHANT_ACCOUNT,
  paymentQueryBody,
  startPaymentBody,
  WEBHOOK_HEADERS,
  WEBHOOK_PASSWORD,
  WEBHOOK_USER,
} from "./fixtures.js";
import type { HarvestedPayment, HttpJob, HttpResult } from "./http-load.js";
import type { ProbeMemory, ProbeRequest } from "./probe.js";
import { type BenchProcess, freePort, openFileLimit, startProcess } from "./processes.js";
import { summariseProfile } from "./profile-summary.js";
import { type BenchResult, formatCores, formatMachine, formatSource, formatTable, machine, type Row, source } from "./report.js";
import type { DriveResult, OpenResult, PoolRequest } from "./ws-pool.js";

interface Settings {
  mode: "quick" | "full";
  connections: number;
  warmupSeconds: number;
  /** Length of each measured HTTP run; scenario 3 aims at it from the rate its warm-up reached. */
  seconds: number;
  /** Payments the payment(id) scenario cycles through. */
  queryPayments: number;
  /** Scenario 3's warm-up, one webhook (and one payment) per request. */
  webhookWarmup: number;
  /** At most this many webhooks (and payments) in scenario 3's measured run. */
  maxWebhooks: number;
  subscriptions: number[];
  webhooksPerSecond: number;
  /** How long scenario 5 sends webhooks for (one per driven subscriber). */
  driveSeconds: number;
  /** Subscribers that get no webhook may share a payment, up to this many each (1: every one has its own). */
  idlePerPayment: number;
}

const FULL: Settings = {
  mode: "full",
  connections: 50,
  warmupSeconds: 3,
  seconds: 10,
  queryPayments: 1000,
  webhookWarmup: 1000,
  maxWebhooks: 100_000,
  subscriptions: [1000, 10_000],
  webhooksPerSecond: 500,
  driveSeconds: 10,
  idlePerPayment: 1,
};

/** Under a minute once the targets are met: short runs, and idle subscribers need not each have a payment made. */
const QUICK: Settings = {
  ...FULL,
  mode: "quick",
  warmupSeconds: 1,
  seconds: 3,
  webhookWarmup: 250,
  maxWebhooks: 20_000,
  driveSeconds: 1,
  idlePerPayment: 10,
};

const TARGETS = { payment: 0.3, webhook: 0.35, start: 0.08, heapKB: 30, p99Ms: 100 };
/** Sockets, SQLite files, the simulator connection and the like, on top of one descriptor per subscription. */
const SPARE_FILES = 200;
const OPEN_FILES = 20_000;

const dist = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    profile: { type: "boolean", default: false },
    save: { type: "string" },
    compare: { type: "string" },
    connections: { type: "string" },
    "webhook-rate": { type: "string" },
    database: { type: "string", default: "sqlite" },
  },
});
if (args.database !== "sqlite" && args.database !== "postgres") throw new Error("--database must be sqlite or postgres");

const settings: Settings = { ...(args.quick ? QUICK : FULL) };
if (args.connections) settings.connections = Number(args.connections);
if (args["webhook-rate"]) settings.webhooksPerSecond = Number(args["webhook-rate"]);
const only = new Set((args.only ?? "2,3,4,5").split(",").map((s) => s.trim()));
const runDir = mkdtempSync(join(tmpdir(), "kakaopay-bench-"));
const notes: string[] = [];
const rows: Row[] = [];
/** Rows rated against the raw baseline once both raw runs, which bracket the scenarios, are in. */
const ratioTargets = new Map<Row, number>();
const processes: BenchProcess[] = [];
let gateway: BenchProcess;
let simulator: BenchProcess;
let gatewayUrl = "";

function say(line: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

const count = (n: number) => n.toLocaleString("en-US");

/** Rounds a list down to a whole number of requests per connection (autocannon splits `amount` evenly). */
function perConnection<T>(items: T[]): T[] {
  return items.slice(0, Math.floor(items.length / settings.connections) * settings.connections);
}

async function start(options: Parameters<typeof startProcess>[0]): Promise<BenchProcess> {
  const child = await startProcess(options);
  processes.push(child);
  return child;
}

async function stop(child: BenchProcess): Promise<void> {
  processes.splice(processes.indexOf(child), 1);
  await child.stop();
}

const limit = openFileLimit(OPEN_FILES);
notes.push(limit.message);
const openFiles = limit.ok ? OPEN_FILES : null;
const fileBudget = limit.ok ? OPEN_FILES : limit.soft;

/** Payments made through the gateway: `fresh` ones were never webhooked nor watched; `used` ones may only be watched. */
const payments = { fresh: [] as HarvestedPayment[], used: [] as HarvestedPayment[], all: [] as HarvestedPayment[] };
/** Appended to the rows of the scenarios run again on PostgreSQL (--database=postgres). */
let store = "";

/** --database=postgres: TEST_DATABASE_URL, or this machine's PostgreSQL; the bench runs in a schema of its own. */
const postgresUrl = process.env.TEST_DATABASE_URL || "postgres://127.0.0.1:5432/test";

function schemaUrl(schema: string): string {
  const url = new URL(withUser(postgresUrl));
  url.searchParams.set("options", `-c search_path=${schema}`);
  return url.toString();
}

async function onPostgres(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: withUser(postgresUrl) });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

const createSchema = (schema: string) => onPostgres(`create schema "${schema}"`);
const dropSchema = (schema: string) => onPostgres(`drop schema if exists "${schema}" cascade`);

function keep(harvested: HarvestedPayment[]): void {
  payments.fresh.push(...harvested);
  payments.all.push(...harvested);
}

/** Makes at least `n` payments through startKakaoPayPayment, as fast as the gateway takes them (not measured). */
async function makePayments(n: number): Promise<void> {
  const wanted = Math.ceil(n / settings.connections) * settings.connections;
  say(`preparing: ${count(wanted)} payments through startKakaoPayPayment`);
  const bodies = Array.from({ length: wanted }, (_, i) => startPaymentBody(`bench-prep-${payments.all.length + i}`));
  const result = await load("create", startJob(bodies, true));
  if (result.errors > 0) throw new Error(`preparing payments: ${result.errors} failed`);
}

async function takeFresh(n: number): Promise<HarvestedPayment[]> {
  if (payments.fresh.length < n) await makePayments(n - payments.fresh.length);
  return payments.fresh.splice(0, n);
}

async function probe<T>(request: ProbeRequest): Promise<T> {
  return gateway.call<T>(request, 60_000);
}

/** Load runs that prepare or check data: not reported, so neither profiled nor held until the machine is quiet. */
const PREPARATION = new Set(["create", "check"]);

/** With --profile: the gateway's and the simulator's CPU profiles of one measured run, summarised when busy. */
async function profile(phase: "start" | "stop", name: string): Promise<void> {
  if (!args.profile || name === "raw") return;
  for (const target of [gateway, simulator]) {
    if (phase === "start") {
      await target.call({ type: "profile-start" } satisfies ProbeRequest);
      continue;
    }
    const path = join(runDir, `${name}.${target.name}.cpuprofile`);
    await target.call({ type: "profile-stop", path } satisfies ProbeRequest, 60_000);
    const summary = summariseProfile(path);
    // The simulator is idle but in scenario 4: its profile would say nothing.
    if (summary.cpuMs < 200) continue;
    writeFileSync(join(runDir, `${name}.${target.name}.txt`), `${summary.text}\n`);
    say(`${target.name} profile of ${name}:\n${summary.text}`);
  }
}

type Measured<T> = T & { cores: Record<string, number> };

/**
 * Runs `work` once the machine is quiet, with the profiler on (with --profile), and tells which process used how
 * much CPU meanwhile.
 */
async function measured<T>(name: string, work: () => Promise<T>): Promise<Measured<T>> {
  if (PREPARATION.has(name)) return { ...(await work()), cores: {} };
  const ours = new Map([["runner", process.pid]]);
  // One load generator at a time: its role is enough here.
  for (const child of processes) ours.set(/^(load|ws-pool)-/.test(child.name) ? "load" : child.name, child.pid);
  const busy = await quietMachine(new Set([process.pid, ours.get("load")!]));
  if (busy >= 0.1) say(`${name}: the machine is still busy (${busy.toFixed(2)} cores) after a minute; measuring anyway`);
  await profile("start", name);
  const before = cpuSnapshot();
  const result = await work();
  const cores = coresUsed(before, cpuSnapshot(), ours);
  await profile("stop", name);
  if (cores.others! > 0.1) {
    notes.push(`${name}: other processes used ${cores.others!.toFixed(2)} cores meanwhile, so its numbers are understated`);
  }
  return { ...result, cores };
}

type Job = Omit<HttpJob, "connections">;

/**
 * One load-generator process: an optional warm-up, then the measured run (profiled alone). The measured job may
 * depend on the warm-up's result (scenario 3 sizes its run from the warm-up's rate).
 */
async function load(name: string, job: Job | ((warm: HttpResult) => Promise<Job>), warmup?: Job): Promise<Measured<HttpResult>> {
  const worker = await start({ name: `load-${name}`, script: dist("./http-load.js"), ready: /http-load ready/, logDir: runDir });
  const call = async (j: Job) => {
    const result = await worker.call<HttpResult>({ ...j, connections: settings.connections } satisfies HttpJob);
    if (j.harvest) keep(result.harvested);
    return result;
  };
  try {
    const warm = warmup ? await call(warmup) : null;
    const measuredJob = typeof job === "function" ? await job(warm!) : job;
    const result = await measured(name, () => call(measuredJob));
    // Warm-up failures count too: every request of a scenario must succeed.
    const errors = result.errors + (warm?.errors ?? 0);
    if (errors > 0) notes.push(`${name}: ${errors} errors (measured run: ${JSON.stringify(result.errorKinds)})`);
    return { ...result, errors };
  } finally {
    await stop(worker);
  }
}

function graphqlJob(bodies: string[], once: boolean, expect: string, harvest = false): Job {
  const duration = settings.seconds;
  return { url: gatewayUrl, method: "POST", path: "/graphql", headers: GRAPHQL_HEADERS, bodies, once, duration, expect, harvest };
}

function startJob(bodies: string[], once: boolean): Job {
  return graphqlJob(bodies, once, '"status":"ACTION_REQUIRED"', true);
}

function webhookJob(list: HarvestedPayment[]): Job {
  // Signed ahead of time: the load generator only sends.
  const bodies = list.map(authorisationWebhook);
  const headers = WEBHOOK_HEADERS;
  return {
    url: gatewayUrl,
    method: "POST",
    path: "/webhooks/adyen",
    headers,
    bodies,
    once: true,
    duration: 0,
    expect: "[accepted]",
    harvest: false,
  };
}

function httpRow(scenario: string, what: string, result: Measured<HttpResult>, target: number | null): Row {
  const row: Row = {
    scenario,
    what,
    perSecond: result.requestsPerSecond,
    p50: result.p50,
    p99: result.p99,
    errors: result.errors,
    cores: result.cores,
    ratio: null,
    target: target === null ? "baseline" : `≥ ${target} × raw`,
    met: null,
  };
  if (target !== null) ratioTargets.set(row, target);
  rows.push(row);
  return row;
}

async function scenarioRaw(url: string, when: string): Promise<number> {
  say(`1: raw node:http (${when})`);
  const job: Job = {
    url,
    method: "GET",
    path: "/",
    headers: {},
    bodies: [""],
    once: false,
    duration: settings.seconds,
    expect: '"ok":true',
    harvest: false,
  };
  const result = await load("raw", job, { ...job, duration: settings.warmupSeconds });
  return httpRow("1", `raw node:http (${when})`, result, null).perSecond;
}

async function scenarioStart(): Promise<void> {
  say("4: startKakaoPayPayment, the simulator answering");
  const job = startJob(
    Array.from({ length: 1000 }, (_, i) => startPaymentBody(`bench-start-${i}`)),
    false,
  );
  const result = await load("startKakaoPayPayment", job, { ...job, duration: settings.warmupSeconds });
  httpRow("4", `startKakaoPayPayment${store}`, result, TARGETS.start);
}

async function scenarioQuery(): Promise<void> {
  say("2: payment(id)");
  if (payments.all.length < settings.queryPayments) await makePayments(settings.queryPayments - payments.all.length);
  const bodies = payments.all.slice(0, settings.queryPayments).map((p) => paymentQueryBody(p.id));
  const job = graphqlJob(bodies, false, '"payment":{"id":"');
  const result = await load("payment", job, { ...job, duration: settings.warmupSeconds });
  httpRow("2", `payment(id) query${store}`, result, TARGETS.payment);
}

async function scenarioWebhooks(): Promise<void> {
  say("3: POST /webhooks/adyen, one signed AUTHORISATION per request, each for its own payment");
  const warm = perConnection(await takeFresh(settings.webhookWarmup));
  const sent = [...warm];
  const result = await load(
    "webhook",
    async (warmResult) => {
      // Enough payments for about `seconds` at the warm-up's rate (a warm gateway is faster: a little more).
      const atWarmRate = warmResult.requestsPerSecond * settings.seconds * 1.2;
      const wanted = Math.min(settings.maxWebhooks, Math.max(10 * settings.connections, atWarmRate));
      const list = perConnection(await takeFresh(Math.round(wanted)));
      sent.push(...list);
      return webhookJob(list);
    },
    webhookJob(warm),
  );
  payments.used.push(...sent);
  const notApplied = await checkAuthorised(sent);
  if (notApplied > 0) notes.push(`3: ${notApplied} of ${sent.length} acknowledged webhooks were not applied`);
  httpRow("3", `POST /webhooks/adyen (AUTHORISATION)${store}`, { ...result, errors: result.errors + notApplied }, TARGETS.webhook);
}

/** Every payment whose webhook was acknowledged must now be AUTHORISED: asked through GraphQL, all of them. */
async function checkAuthorised(sent: HarvestedPayment[]): Promise<number> {
  // Applying follows the acknowledgement: give the last ones a moment.
  const last = sent.slice(-settings.connections).map((p) => paymentQueryBody(p.id));
  for (let attempt = 0; attempt < 100; attempt++) {
    const answers = await Promise.all(
      last.map(async (body) => (await fetch(`${gatewayUrl}/graphql`, { method: "POST", headers: GRAPHQL_HEADERS, body })).text()),
    );
    if (answers.every((text) => text.includes('"status":"AUTHORISED"'))) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // Warm-up and measured lists are both whole multiples of the connections, so `once` can take them all.
  const result = await load(
    "check",
    graphqlJob(
      sent.map((p) => paymentQueryBody(p.id)),
      true,
      '"status":"AUTHORISED"',
    ),
  );
  return result.errors;
}

/** The subscription counts this machine's open-file limit allows: one socket per subscription in two processes. */
function subscriptionCounts(): number[] {
  return settings.subscriptions.filter((n) => {
    if (n + SPARE_FILES <= fileBudget) return true;
    notes.push(`5 (N=${count(n)}) skipped: needs ${n + SPARE_FILES} open files per process, the limit is ${fileBudget}`);
    return false;
  });
}

/** The payments N subscribers watch: `driven` ones get a webhook; the idle ones watch payments already authorised. */
async function subscriptionPayments(n: number, drivenCount: number): Promise<{ driven: HarvestedPayment[]; idle: HarvestedPayment[] }> {
  const driven = await takeFresh(drivenCount);
  const idleCount = n - drivenCount;
  const watched = payments.used.slice(0, idleCount);
  if (watched.length * settings.idlePerPayment < idleCount) {
    const more = await takeFresh(Math.ceil(idleCount / settings.idlePerPayment) - watched.length);
    watched.push(...more);
    payments.used.push(...more);
  }
  payments.used.push(...driven);
  const idle = Array.from({ length: idleCount }, (_, i) => watched[i % watched.length]!);
  if (watched.length < idleCount) {
    notes.push(`5 (N=${count(n)}): the ${count(idleCount)} idle subscribers share ${count(watched.length)} payments (--quick)`);
  }
  return { driven, idle };
}

async function scenarioSubscriptions(n: number): Promise<void> {
  const label = `5 (N=${count(n)})`;
  const drivenCount = Math.min(n, settings.webhooksPerSecond * settings.driveSeconds);
  const { driven, idle } = await subscriptionPayments(n, drivenCount);
  say(`${label}: ${count(n)} graphql-ws subscriptions, ${count(drivenCount)} webhooks at ${settings.webhooksPerSecond}/s`);
  const pool = await start({ name: `ws-pool-${n}`, script: dist("./ws-pool.js"), ready: /ws-pool ready/, logDir: runDir, openFiles });
  try {
    const before = await probe<ProbeMemory>({ type: "memory" });
    const subscribe: PoolRequest = {
      type: "open",
      url: `${gatewayUrl.replace("http", "ws")}/graphql`,
      apiKey: API_KEY,
      paymentIds: [...driven, ...idle].map((p) => p.id),
      concurrency: 100,
    };
    // Not a target, but what most of a quick run waits for: measured (and profiled) on its own.
    const open = await measured(`subscribe-${n}`, () => pool.call<OpenResult>(subscribe));
    const failures = open.failed ? `, ${open.failed} failed: ${open.firstError}` : "";
    const gatewayCores = open.cores.gateway!.toFixed(2);
    say(`${label}: ${count(open.opened)} subscriptions live in ${open.seconds.toFixed(1)} s (gateway ${gatewayCores} cores)${failures}`);
    const held = await probe<ProbeMemory>({ type: "memory" });
    const drive: PoolRequest = {
      type: "drive",
      webhookUrl: `${gatewayUrl}/webhooks/adyen`,
      headers: WEBHOOK_HEADERS,
      webhooks: driven.map((p) => ({ paymentId: p.id, body: authorisationWebhook(p) })),
      perSecond: settings.webhooksPerSecond,
      settleMs: 30_000,
    };
    const delivery = await measured(`subscriptions-${n}`, () => pool.call<DriveResult>(drive));
    await pool.call({ type: "close" } satisfies PoolRequest);

    const heapKB = (held.heapUsed - before.heapUsed) / n / 1024;
    const rssKB = (held.rss - before.rss) / n / 1024;
    const errors = open.failed + delivery.rejected + delivery.missing;
    if (errors > 0) {
      const lost = `${open.failed} subscriptions failed, ${delivery.rejected} webhooks rejected`;
      notes.push(`${label}: ${lost}, ${delivery.missing} changes not delivered`);
    }
    const rateHeld = delivery.webhooksPerSecond >= settings.webhooksPerSecond * 0.95;
    rows.push({
      scenario: label,
      what: `graphql-ws, ${count(drivenCount)} webhooks → clients`,
      perSecond: delivery.webhooksPerSecond,
      p50: delivery.p50 ?? NaN,
      p99: delivery.p99 ?? NaN,
      errors,
      ratio: null,
      heapKB,
      rssKB,
      cores: delivery.cores,
      target: `≤ ${TARGETS.heapKB} KB heap/sub, p99 ≤ ${TARGETS.p99Ms} ms at ${settings.webhooksPerSecond}/s`,
      met: errors === 0 && rateHeld && heapKB <= TARGETS.heapKB && delivery.p99 !== null && delivery.p99 <= TARGETS.p99Ms,
    });
  } finally {
    await stop(pool);
  }
}

async function main(): Promise<void> {
  say(`${settings.mode} run; logs, profiles and results in ${runDir}`);
  const rawServer = await start({ name: "raw", script: dist("./raw-server.js"), ready: /on (http:\S+)/, logDir: runDir });
  const [gatewayPort, simulatorPort] = [await freePort(), await freePort()];
  const shared = {
    ADYEN_API_KEY,
    ADYEN_MERCHANT_ACCOUNT: MERCHANT_ACCOUNT,
    ADYEN_HMAC_KEY: HMAC_KEY,
    ADYEN_WEBHOOK_USERNAME: WEBHOOK_USER,
    ADYEN_WEBHOOK_PASSWORD: WEBHOOK_PASSWORD,
  };
  const probeFlags = ["--import", pathToFileURL(dist("./probe.js")).href];
  simulator = await start({
    name: "simulator",
    script: dist("../../src/simulator/main.js"),
    nodeFlags: probeFlags,
    ready: /listening on (http:\S+)/,
    logDir: runDir,
    env: {
      ...shared,
      SIMULATOR_PORT: String(simulatorPort),
      SIMULATOR_WEBHOOK_URL: `http://127.0.0.1:${gatewayPort}/webhooks/adyen`,
      // No session may expire (and send OFFER_CLOSED) while the bench runs.
      SIMULATOR_OFFER_TTL_SECONDS: "86400",
    },
  });
  const startGatewayOn = async (databaseUrl: string) => {
    gateway = await start({
      name: "gateway",
      script: dist("../../src/main.js"),
      nodeFlags: ["--expose-gc", ...probeFlags],
      ready: /KakaoPay gateway on (http:\S+)\/graphql/,
      logDir: runDir,
      openFiles,
      env: {
        ...shared,
        NODE_ENV: "production",
        PORT: String(gatewayPort),
        DATABASE_URL: databaseUrl,
        ADYEN_ENVIRONMENT: "simulator",
        SIMULATOR_URL: simulator.readyMatch[1]!,
        GATEWAY_API_KEYS: `bench:${API_KEY}`,
        RETURN_URL_ALLOWLIST: "http://127.0.0.1",
      },
    });
    gatewayUrl = gateway.readyMatch[1]!;
  };
  await startGatewayOn(`file:${join(runDir, "gateway.db")}`);

  const rawUrl = rawServer.readyMatch[1]!;
  const rawStart = await scenarioRaw(rawUrl, "start");
  // Scenario 4 first: the payments it makes serve the others.
  if (only.has("4")) await scenarioStart();
  if (only.has("2")) await scenarioQuery();
  if (only.has("3")) await scenarioWebhooks();
  if (only.has("5")) for (const n of subscriptionCounts()) await scenarioSubscriptions(n);
  if (args.database === "postgres") {
    // The same scenarios again on PostgreSQL, in this run: a fresh schema, the same simulator and port.
    await stop(gateway);
    const schema = `bench_${Date.now()}`;
    await createSchema(schema);
    try {
      await startGatewayOn(schemaUrl(schema));
      payments.fresh = [];
      payments.used = [];
      payments.all = [];
      store = " (PostgreSQL)";
      if (only.has("4")) await scenarioStart();
      if (only.has("2")) await scenarioQuery();
      if (only.has("3")) await scenarioWebhooks();
      await stop(gateway);
    } finally {
      await dropSchema(schema);
    }
  }
  const rawEnd = await scenarioRaw(rawUrl, "end");

  const baseline = (rawStart + rawEnd) / 2;
  for (const [row, target] of ratioTargets) {
    row.ratio = row.perSecond / baseline;
    row.met = row.ratio >= target && row.errors === 0;
  }
  // In scenario order (BENCHMARKS.md); the sort is stable, so the two raw runs stay start, end.
  rows.sort((a, b) => a.scenario.localeCompare(b.scenario, "en"));
}

const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
const startedAt = new Date();
let aborted = false;
try {
  await main();
} catch (error) {
  aborted = true;
  notes.push(`aborted: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  for (const child of processes.splice(0).reverse()) await child.stop();
}

const result: BenchResult = {
  mode: settings.mode,
  command,
  source: source(dist("../../..")),
  startedAt: startedAt.toISOString(),
  seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
  machine: machine(),
  connections: settings.connections,
  rows,
  notes,
};
const previous = args.compare ? (JSON.parse(readFileSync(args.compare, "utf8")) as BenchResult) : undefined;
console.log(`\n${formatMachine(result.machine)}`);
console.log(`code: ${formatSource(result.source)}; ${settings.connections} connections; ${command}; ${result.seconds} s\n`);
console.log(formatTable(result, previous));
console.log(`\n${formatCores(result)}\n`);
for (const note of notes) console.log(`- ${note}`);
const savePath = args.save ?? join(runDir, "results.json");
writeFileSync(savePath, `${JSON.stringify(result, null, 2)}\n`);
console.log(`\nresults: ${savePath}`);
// The database is the only large file; logs and profiles stay for a look.
for (const suffix of ["", "-wal", "-shm"]) rmSync(join(runDir, `gateway.db${suffix}`), { force: true });
process.exit(aborted || rows.some((row) => row.errors > 0) ? 1 : 0);
