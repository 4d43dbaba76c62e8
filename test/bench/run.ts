/**
 * `npm run bench [-- --quick] [--only=2,3] [--profile] [--save=FILE] [--compare=FILE] [--connections=50] [--webhook-rates=500,1000] [--wait=60]
 *   [--observability] [--database=postgres]`
 *
 * Every scenario of BENCHMARKS.md against the built gateway in its own process, the simulator in another, the
 * baselines (a raw node:http server; for webhooks, a durable one) in others, and each load generator in a process
 * of its own; then one table. The payments a scenario needs are made through the gateway's GraphQL API before its
 * measured run, and its effects are checked after it. With --observability, scenarios 2, 3 and 4 run with logs and
 * metrics on (the default) and off, in turns.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { withUser } from "../../src/store/pg/database.js";
import { coresUsed, cpuSnapshot, quietMachine, settledProcessSeconds } from "./cpu.js";
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
  /** Scenario 5's webhook rates: the first for every N, the others for the largest N only. */
  webhookRates: number[];
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
  webhookRates: [500, 1000],
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

/** The targets of BENCHMARKS.md: throughput as a ratio to a baseline of the same run, CPU per operation. */
const TARGETS = {
  payment: { ratio: 0.3, cpuUs: 60 },
  /** Against the durable baseline. */
  webhook: { ratio: 0.8, cpuUs: 100 },
  /** The gateway's CPU only: the simulator's is not counted. */
  start: { ratio: null, cpuUs: 300 },
  /** Scenario 5 by webhook rate (a rate not listed has no target): webhook-to-client p99, heap per subscription. */
  subscriptions: new Map<number, { p99Ms: number; heapKB: number | null }>([
    [500, { p99Ms: 25, heapKB: 10 }],
    [1000, { p99Ms: 50, heapKB: null }],
  ]),
};
/** Measured runs check the body of one answer in this many (every status is checked), the baselines' too. */
const CHECK_EVERY = 32;
/** --observability: each scenario with logs and metrics on keeps at least this share of its throughput with them off. */
const OBSERVABILITY_TARGET = 0.95;
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
    "webhook-rates": { type: "string" },
    wait: { type: "string", default: "60" },
    observability: { type: "boolean", default: false },
    database: { type: "string", default: "sqlite" },
  },
});
if (args.database !== "sqlite" && args.database !== "postgres") throw new Error("--database must be sqlite or postgres");

const settings: Settings = { ...(args.quick ? QUICK : FULL) };
if (args.connections) settings.connections = Number(args.connections);
if (args["webhook-rates"]) settings.webhookRates = args["webhook-rates"].split(",").map(Number);
const only = new Set((args.only ?? "2,3,4,5").split(",").map((s) => s.trim()));
const runDir = mkdtempSync(join(tmpdir(), "kakaopay-bench-"));
const notes: string[] = [];
const rows: Row[] = [];
type Baseline = "raw" | "durable";
interface Goal {
  baseline: Baseline;
  ratio: number | null;
  cpuUs: number;
}
/** Rows rated against their baseline once its runs, which bracket the scenarios, are in. */
const goals = new Map<Row, Goal>();
/** Each baseline's measured runs, req/s. */
const baselines: Record<Baseline, number[]> = { raw: [], durable: [] };
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
/** --database=postgres with scenario 5: TEST_REDIS_URL, or this machine's Redis. */
const redisUrl = process.env.TEST_REDIS_URL || "redis://127.0.0.1:6379";

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
  const result = await load("create", gateway, startJob(bodies, true, 1));
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
  if (!args.profile || name === "raw" || name === "durable") return;
  for (const target of [gateway, simulator]) {
    if (phase === "start") {
      await target.call({ type: "profile-start" } satisfies ProbeRequest);
      continue;
    }
    // The PostgreSQL runs of --database=postgres get files of their own, beside SQLite's.
    const file = `${name}.${target.name}${store ? ".postgres" : ""}`;
    const path = join(runDir, `${file}.cpuprofile`);
    await target.call({ type: "profile-stop", path } satisfies ProbeRequest, 60_000);
    const summary = summariseProfile(path);
    // The simulator is idle but in scenario 4: its profile would say nothing.
    if (summary.cpuMs < 200) continue;
    writeFileSync(join(runDir, `${file}.txt`), `${summary.text}\n`);
    say(`${target.name} profile of ${name}:\n${summary.text}`);
  }
}

/** `serverSeconds`: CPU the server under test used from the start of the run until it was idle after it. */
type Measured<T> = T & { cores: Record<string, number>; serverSeconds: number };

/**
 * Runs `work` once the machine is quiet, with the profiler on (with --profile), and tells which process used how
 * much CPU meanwhile, and how much `server` used for it in all.
 */
async function measured<T>(name: string, server: BenchProcess, work: () => Promise<T>): Promise<Measured<T>> {
  if (PREPARATION.has(name)) return { ...(await work()), cores: {}, serverSeconds: 0 };
  const ours = new Map([["runner", process.pid]]);
  // One load generator at a time: its role is enough here.
  for (const child of processes) ours.set(/^(load|ws-pool)-/.test(child.name) ? "load" : child.name, child.pid);
  const busy = await quietMachine(new Set([process.pid, ours.get("load")!]), 0.1, Number(args.wait) * 1000);
  if (busy >= 0.1) say(`${name}: the machine is still busy (${busy.toFixed(2)} cores) after ${args.wait} s; measuring anyway`);
  // The server's work left from the warm-up (webhooks still being applied) must not count against this run.
  await settledProcessSeconds(server.pid);
  await profile("start", name);
  const before = cpuSnapshot();
  const result = await work();
  const cores = coresUsed(before, cpuSnapshot(), ours);
  const serverSeconds = (await settledProcessSeconds(server.pid)) - (before.processes.get(server.pid) ?? 0);
  await profile("stop", name);
  if (cores.others! > 0.1) {
    notes.push(`${name}: other processes used ${cores.others!.toFixed(2)} cores meanwhile, so its numbers are understated`);
  }
  return { ...result, cores, serverSeconds };
}

type Job = Omit<HttpJob, "connections">;

/**
 * One load-generator process: an optional warm-up, then the measured run (profiled alone). The measured job may
 * depend on the warm-up's result (scenario 3 sizes its run from the warm-up's rate).
 */
async function load(
  name: string,
  server: BenchProcess,
  job: Job | ((warm: HttpResult) => Promise<Job>),
  warmup?: Job,
): Promise<Measured<HttpResult>> {
  const worker = await start({ name: `load-${name}`, script: dist("./http-load.js"), ready: /http-load ready/, logDir: runDir });
  const call = async (j: Job) => {
    const result = await worker.call<HttpResult>({ ...j, connections: settings.connections } satisfies HttpJob);
    if (j.harvest) keep(result.harvested);
    return result;
  };
  try {
    const warm = warmup ? await call(warmup) : null;
    const measuredJob = typeof job === "function" ? await job(warm!) : job;
    const result = await measured(name, server, () => call(measuredJob));
    // Warm-up failures count too: every request of a scenario must succeed.
    const errors = result.errors + (warm?.errors ?? 0);
    if (errors > 0) notes.push(`${name}: ${errors} errors (measured run: ${JSON.stringify(result.errorKinds)})`);
    return { ...result, errors };
  } finally {
    await stop(worker);
  }
}

/** `checkEvery`: 1 where the answers are the data (preparation, checks), CHECK_EVERY in measured runs. */
function graphqlJob(bodies: string[], once: boolean, expect: string, checkEvery: number, harvest = false): Job {
  const duration = settings.seconds;
  const headers = GRAPHQL_HEADERS;
  return { url: gatewayUrl, method: "POST", path: "/graphql", headers, bodies, once, duration, expect, checkEvery, harvest };
}

function startJob(bodies: string[], once: boolean, checkEvery: number): Job {
  return graphqlJob(bodies, once, '"status":"ACTION_REQUIRED"', checkEvery, true);
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
    checkEvery: CHECK_EVERY,
    harvest: false,
  };
}

/** With --observability: the label of the current configuration, added to each row's scenario name. */
let configuration = "";

/** `goal`: null for a baseline's own run. */
function httpRow(scenario: string, what: string, result: Measured<HttpResult>, goal: Goal | null): Row {
  what = `${what}${configuration}`;
  const target =
    goal === null
      ? "baseline"
      : [goal.ratio === null ? null : `≥ ${goal.ratio} × ${goal.baseline}`, `≤ ${goal.cpuUs} µs CPU/op`].filter(Boolean).join(", ");
  const row: Row = {
    scenario,
    what,
    perSecond: result.requestsPerSecond,
    p50: result.p50,
    p99: result.p99,
    errors: result.errors,
    cores: result.cores,
    cpuUsPerOp: (result.serverSeconds * 1e6) / result.requests,
    ratio: null,
    ratioTo: goal?.baseline,
    target,
    met: null,
  };
  if (goal !== null) goals.set(row, goal);
  rows.push(row);
  return row;
}

async function scenarioRaw(server: BenchProcess, when: string): Promise<void> {
  say(`1: raw node:http (${when})`);
  const job: Job = {
    url: server.readyMatch[1]!,
    method: "GET",
    path: "/",
    headers: {},
    bodies: [""],
    once: false,
    duration: settings.seconds,
    expect: '"ok":true',
    checkEvery: CHECK_EVERY,
    harvest: false,
  };
  const result = await load("raw", server, job, { ...job, duration: settings.warmupSeconds });
  baselines.raw.push(httpRow("1", `raw node:http (${when})`, result, null).perSecond);
}

/**
 * The same webhooks as scenario 3 (signed, for payments that need not exist) to the durable baseline, which
 * stores them the way the gateway must: on the disk before answering.
 */
async function scenarioDurable(server: BenchProcess, when: string): Promise<void> {
  say(`1b: durable node:http, append + fdatasync per event-loop turn (${when})`);
  const fake = (i: number) => ({ id: `fake-${i}`, reference: `bench-durable-${i}`, pspReference: `DURABLE${String(i).padStart(9, "0")}` });
  const job: Job = {
    ...webhookJob(Array.from({ length: 1000 }, (_, i) => fake(i))),
    url: server.readyMatch[1]!,
    once: false,
    duration: settings.seconds,
  };
  const result = await load("durable", server, job, { ...job, duration: settings.warmupSeconds });
  baselines.durable.push(httpRow("1b", `durable node:http (${when})`, result, null).perSecond);
}

async function scenarioStart(): Promise<void> {
  say("4: startKakaoPayPayment, the simulator answering");
  const job = startJob(
    Array.from({ length: 1000 }, (_, i) => startPaymentBody(`bench-start-${i}`)),
    false,
    CHECK_EVERY,
  );
  const result = await load("startKakaoPayPayment", gateway, job, { ...job, duration: settings.warmupSeconds });
  httpRow("4", `startKakaoPayPayment${store}`, result, { baseline: "raw", ...TARGETS.start });
}

async function scenarioQuery(): Promise<void> {
  say("2: payment(id)");
  if (payments.all.length < settings.queryPayments) await makePayments(settings.queryPayments - payments.all.length);
  const bodies = payments.all.slice(0, settings.queryPayments).map((p) => paymentQueryBody(p.id));
  const job = graphqlJob(bodies, false, '"payment":{"id":"', CHECK_EVERY);
  const result = await load("payment", gateway, job, { ...job, duration: settings.warmupSeconds });
  httpRow("2", `payment(id) query${store}`, result, { baseline: "raw", ...TARGETS.payment });
}

async function scenarioWebhooks(): Promise<void> {
  say("3: POST /webhooks/adyen, one signed AUTHORISATION per request, each for its own payment");
  const warm = perConnection(await takeFresh(settings.webhookWarmup));
  const sent = [...warm];
  const result = await load(
    "webhook",
    gateway,
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
  const row = { ...result, errors: result.errors + notApplied };
  httpRow("3", `POST /webhooks/adyen (AUTHORISATION)${store}`, row, { baseline: "durable", ...TARGETS.webhook });
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
    gateway,
    graphqlJob(
      sent.map((p) => paymentQueryBody(p.id)),
      true,
      '"status":"AUTHORISED"',
      1,
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

/** N subscribers, opened afresh, and webhooks for some of them at `rate` per second. */
async function scenarioSubscriptions(n: number, rate: number): Promise<void> {
  const label = `5 (N=${count(n)})`;
  const drivenCount = Math.min(n, rate * settings.driveSeconds);
  const { driven, idle } = await subscriptionPayments(n, drivenCount);
  say(`${label}: ${count(n)} graphql-ws subscriptions, ${count(drivenCount)} webhooks at ${count(rate)}/s`);
  const pool = await start({
    name: `ws-pool-${n}${store ? "-postgres" : ""}`,
    script: dist("./ws-pool.js"),
    ready: /ws-pool ready/,
    logDir: runDir,
    openFiles,
  });
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
    const open = await measured(`subscribe-${n}`, gateway, () => pool.call<OpenResult>(subscribe));
    const failures = open.failed ? `, ${open.failed} failed: ${open.firstError}` : "";
    const gatewayCores = open.cores.gateway!.toFixed(2);
    say(`${label}: ${count(open.opened)} subscriptions live in ${open.seconds.toFixed(1)} s (gateway ${gatewayCores} cores)${failures}`);
    const held = await probe<ProbeMemory>({ type: "memory" });
    const drive: PoolRequest = {
      type: "drive",
      webhookUrl: `${gatewayUrl}/webhooks/adyen`,
      headers: WEBHOOK_HEADERS,
      webhooks: driven.map((p) => ({ paymentId: p.id, body: authorisationWebhook(p) })),
      perSecond: rate,
      settleMs: 30_000,
    };
    const delivery = await measured(`subscriptions-${n}-${rate}`, gateway, () => pool.call<DriveResult>(drive));
    await pool.call({ type: "close" } satisfies PoolRequest);

    const heapKB = (held.heapUsed - before.heapUsed) / n / 1024;
    const rssKB = (held.rss - before.rss) / n / 1024;
    const errors = open.failed + delivery.rejected + delivery.missing;
    if (errors > 0) {
      const lost = `${open.failed} subscriptions failed, ${delivery.rejected} webhooks rejected`;
      notes.push(`${label}: ${lost}, ${delivery.missing} changes not delivered`);
    }
    const rateHeld = delivery.webhooksPerSecond >= rate * 0.95;
    const goal = TARGETS.subscriptions.get(rate);
    const heapTarget = goal?.heapKB ?? null;
    const target = goal
      ? [heapTarget === null ? null : `≤ ${heapTarget} KB heap/sub`, `p99 ≤ ${goal.p99Ms} ms`].filter(Boolean).join(", ")
      : "–";
    rows.push({
      scenario: label,
      what: `graphql-ws, ${count(drivenCount)} webhooks at ${count(rate)}/s → clients${store}`,
      perSecond: delivery.webhooksPerSecond,
      p50: delivery.p50 ?? NaN,
      p99: delivery.p99 ?? NaN,
      errors,
      ratio: null,
      heapKB,
      rssKB,
      cores: delivery.cores,
      cpuUsPerOp: (delivery.serverSeconds * 1e6) / delivery.sent,
      target,
      met:
        goal === undefined
          ? null
          : errors === 0 &&
            rateHeld &&
            (heapTarget === null || heapKB <= heapTarget) &&
            delivery.p99 !== null &&
            delivery.p99 <= goal.p99Ms,
    });
  } finally {
    await stop(pool);
  }
}

/** Scenario 3, with its own disk baseline just before and after it: the disk's speed is what moves it from run to run. */
async function scenarioWebhooksAndDurable(): Promise<void> {
  const durable = await start({
    name: "durable",
    script: dist("./durable-server.js"),
    ready: /on (http:\S+)/,
    logDir: runDir,
    env: { DURABLE_FILE: join(runDir, "durable.log") },
  });
  await scenarioDurable(durable, "before 3");
  await scenarioWebhooks();
  await scenarioDurable(durable, "after 3");
  await stop(durable);
}

/** The gateway's environment, less what a configuration of --observability changes. */
let gatewayEnv: Record<string, string> = {};
let gatewayFlags: string[] = [];

async function startGatewayProcess(extra: Record<string, string>): Promise<void> {
  gateway = await start({
    name: "gateway",
    script: dist("../../src/main.js"),
    nodeFlags: gatewayFlags,
    // LOG_LEVEL=silent prints no start-up line: then /healthz says it is up.
    ready:
      extra.LOG_LEVEL === "silent" ? new URL(`http://127.0.0.1:${gatewayEnv.PORT}/healthz`) : /KakaoPay gateway on (http:[^\s"]+)\/graphql/,
    logDir: runDir,
    openFiles,
    env: { ...gatewayEnv, ...extra },
  });
  gatewayUrl = gateway.readyMatch[1]!;
}

/**
 * Scenarios 2, 3 and 4 with logs (info) and metrics (a /metrics listener) on, as by default, and both off
 * (LOG_LEVEL=silent, METRICS_PORT=0), on the same database, in the order on, off, off, on: the database grows as
 * the runs go, and this order gives both the same share of it. Each "on" must keep OBSERVABILITY_TARGET of its "off".
 */
async function observabilityRuns(): Promise<void> {
  const on = { LOG_LEVEL: "info", METRICS_PORT: String(await freePort()) };
  const off = { LOG_LEVEL: "silent", METRICS_PORT: "0" };
  const totals = new Map<string, { on: number[]; off: number[] }>();
  for (const [index, which] of (["on", "off", "off", "on"] as const).entries()) {
    if (index > 0) {
      await stop(gateway);
      await startGatewayProcess(which === "on" ? on : off);
    }
    configuration = ` [${which} ${index < 2 ? 1 : 2}]`;
    say(`observability: logs and metrics ${which}`);
    const before = rows.length;
    if (only.has("4")) await scenarioStart();
    if (only.has("2")) await scenarioQuery();
    if (only.has("3")) await scenarioWebhooksAndDurable();
    // The gateway's rows only: the baselines' own runs have no goal.
    for (const row of rows.slice(before).filter((row) => goals.has(row))) {
      const entry = totals.get(row.scenario) ?? { on: [], off: [] };
      entry[which].push(row.perSecond);
      totals.set(row.scenario, entry);
    }
  }
  configuration = "";
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  for (const [scenario, { on: withOn, off: withOff }] of totals) {
    const ratio = mean(withOn) / mean(withOff);
    rows.push({
      scenario,
      what: "logs + metrics on ÷ off (mean of 2 runs each)",
      perSecond: mean(withOn),
      p50: NaN,
      p99: NaN,
      errors: 0,
      cores: {},
      ratio,
      ratioTo: "off",
      target: `≥ ${OBSERVABILITY_TARGET} × off`,
      met: ratio >= OBSERVABILITY_TARGET,
    });
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
    ready: /listening on (http:[^\s"]+)/,
    logDir: runDir,
    env: {
      ...shared,
      SIMULATOR_PORT: String(simulatorPort),
      SIMULATOR_WEBHOOK_URL: `http://127.0.0.1:${gatewayPort}/webhooks/adyen`,
      // No session may expire (and send OFFER_CLOSED) while the bench runs.
      SIMULATOR_OFFER_TTL_SECONDS: "86400",
    },
  });
  gatewayFlags = ["--expose-gc", ...probeFlags];
  gatewayEnv = {
    ...shared,
    NODE_ENV: "production",
    PORT: String(gatewayPort),
    // A free port: several benches may share this machine, and 9464 would be taken by the first.
    METRICS_PORT: String(await freePort()),
    DATABASE_URL: `file:${join(runDir, "gateway.db")}`,
    ADYEN_ENVIRONMENT: "simulator",
    SIMULATOR_URL: simulator.readyMatch[1]!,
    GATEWAY_API_KEYS: `bench:${API_KEY}`,
    RETURN_URL_ALLOWLIST: "http://127.0.0.1",
    // The bench is one API key sending as fast as the gateway answers: the per-key limits (README "Security")
    // would otherwise turn scenario 4 into RATE_LIMITED answers and refuse scenario 5's sockets past 100.
    ADYEN_RATE_LIMIT_PER_MINUTE: "1000000",
    MAX_CONNECTIONS: String(OPEN_FILES),
    MAX_SOCKETS_PER_KEY: String(OPEN_FILES),
  };
  await startGatewayProcess({});

  await scenarioRaw(rawServer, "start");
  if (args.observability) {
    await observabilityRuns();
  } else {
    // Scenario 4 first: the payments it makes serve the others.
    if (only.has("4")) await scenarioStart();
    if (only.has("2")) await scenarioQuery();
    if (only.has("3")) await scenarioWebhooksAndDurable();
  }
  if (only.has("5")) {
    const counts = subscriptionCounts();
    for (const n of counts) {
      const rates = n === counts.at(-1) ? settings.webhookRates : settings.webhookRates.slice(0, 1);
      for (const rate of rates) await scenarioSubscriptions(n, rate);
    }
  }
  if (args.database === "postgres") {
    // The same scenarios again on PostgreSQL, in this run: a fresh schema, the same simulator and port; scenario 3
    // is compared with the durable baseline measured around it on SQLite. Scenario 5 once (its first N and rate),
    // with the Redis status feed, as several instances run (docs/contract.md, Running several instances).
    await stop(gateway);
    const schema = `bench_${Date.now()}`;
    await createSchema(schema);
    try {
      await startGatewayProcess({ DATABASE_URL: schemaUrl(schema), ...(only.has("5") ? { REDIS_URL: redisUrl } : {}) });
      payments.fresh = [];
      payments.used = [];
      payments.all = [];
      store = " (PostgreSQL)";
      if (only.has("4")) await scenarioStart();
      if (only.has("2")) await scenarioQuery();
      if (only.has("3")) await scenarioWebhooks();
      if (only.has("5")) await scenarioSubscriptions(subscriptionCounts()[0]!, settings.webhookRates[0]!);
      await stop(gateway);
    } finally {
      await dropSchema(schema);
    }
  }
  await scenarioRaw(rawServer, "end");

  const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
  for (const [row, goal] of goals) {
    row.ratio = row.perSecond / mean(baselines[goal.baseline]);
    const ratioMet = goal.ratio === null || row.ratio >= goal.ratio;
    row.met = row.errors === 0 && ratioMet && row.cpuUsPerOp! <= goal.cpuUs;
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
// The database and the durable baseline's file are the large ones; logs and profiles stay for a look.
for (const file of ["gateway.db", "gateway.db-wal", "gateway.db-shm", "durable.log"]) rmSync(join(runDir, file), { force: true });
process.exit(aborted || rows.some((row) => row.errors > 0) ? 1 : 0);
