/** The bench's one table (Markdown, so it reads in a terminal and pastes into BENCHMARKS.md) and the machine. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, release } from "node:os";

export interface Row {
  /** Scenario number as BENCHMARKS.md numbers them, e.g. "3" or "5 (N=10,000)". */
  scenario: string;
  what: string;
  /** Requests/s; for subscriptions, webhooks/s sent. */
  perSecond: number;
  /** ms; for subscriptions, webhook-to-client latency. */
  p50: number;
  p99: number;
  errors: number;
  /** To `ratioTo`'s runs in the same run; null for the baselines and subscriptions. */
  ratio: number | null;
  /**
   * The baseline `ratio` is to; results saved before it existed are all to "raw". "off": a --observability row, the
   * same scenario with logs and metrics off.
   */
  ratioTo?: "raw" | "durable" | "off";
  /**
   * µs of CPU (user + system, all threads) the server under test used per operation: the gateway's (or a
   * baseline's own), from the run's start until it was idle after it; for subscriptions, per webhook sent.
   */
  cpuUsPerOp?: number;
  target: string;
  met: boolean | null;
  /** Subscriptions only: growth of the gateway's heap and RSS per subscription, KB. */
  heapKB?: number;
  rssKB?: number;
  /** Cores each process used during the measured run (`others`: everything that is not the bench's). */
  cores?: Record<string, number>;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memory: string;
  node: string;
  kernel: string;
}

/** Which code was measured: the commit, and the files under src/ that differ from it. */
export interface Source {
  commit: string;
  changed: string[];
}

export interface BenchResult {
  mode: "quick" | "full";
  command: string;
  source: Source;
  startedAt: string;
  /** Wall time of the whole run. */
  seconds: number;
  machine: Machine;
  connections: number;
  rows: Row[];
  notes: string[];
}

export function machine(): Machine {
  const cpuModel = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
  const free = spawnSync("free", ["-h"], { encoding: "utf8" }).stdout ?? "";
  const memory = /^Mem:\s+(\S+)/m.exec(free)?.[1] ?? "unknown";
  return { cpus: availableParallelism(), cpuModel, memory, node: process.version, kernel: release() };
}

export function source(repository: string): Source {
  const git = (...args: string[]) => spawnSync("git", ["-C", repository, ...args], { encoding: "utf8" });
  const commit = git("rev-parse", "--short", "HEAD");
  if (commit.status !== 0) return { commit: "unknown (not a git checkout)", changed: [] };
  const changed = git("status", "--porcelain", "--", "src")
    .stdout.split("\n")
    .filter(Boolean)
    .map((line) => line.slice(3));
  return { commit: commit.stdout.trim(), changed };
}

export function formatSource(s: Source): string {
  return s.changed.length ? `${s.commit} with uncommitted changes in ${s.changed.join(", ")}` : s.commit;
}

const number = (value: number, digits = 0) =>
  Number.isFinite(value) ? value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "–";

/** `previous`: an earlier run's result, to show each row's change next to it. */
export function formatTable(result: BenchResult, previous?: BenchResult): string {
  const header = ["#", "scenario", "req/s", "p50 ms", "p99 ms", "errors", "ratio", "CPU µs/op", "heap/sub", "RSS/sub", "target", "met"];
  if (previous) header.push("vs previous");
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => " --- ").join("|")}|`];
  for (const row of result.rows) {
    const cells = [
      row.scenario,
      row.what,
      number(row.perSecond),
      number(row.p50, 1),
      number(row.p99, 1),
      String(row.errors),
      row.ratio === null ? "" : `${number(row.ratio, 3)} × ${row.ratioTo ?? "raw"}`,
      row.cpuUsPerOp === undefined ? "" : number(row.cpuUsPerOp),
      row.heapKB === undefined ? "" : `${number(row.heapKB, 1)} KB`,
      row.rssKB === undefined ? "" : `${number(row.rssKB, 1)} KB`,
      row.target,
      row.met === null ? "" : row.met ? "yes" : "**no**",
    ];
    if (previous) {
      const before = previous.rows.find((r) => r.scenario === row.scenario && r.what === row.what);
      cells.push(before ? change(row, before) : "");
    }
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** Throughput (or, for subscriptions, p99) now against before. */
function change(now: Row, before: Row): string {
  const to = now.ratioTo ?? "raw";
  if (now.ratio !== null && before.ratio !== null && to === (before.ratioTo ?? "raw")) {
    const cpu = now.cpuUsPerOp !== undefined && before.cpuUsPerOp !== undefined;
    const cpuChange = cpu ? `, ${number(before.cpuUsPerOp!)} → ${number(now.cpuUsPerOp!)} µs` : "";
    return `× ${to} ${number(before.ratio, 3)} → ${number(now.ratio, 3)}${cpuChange}`;
  }
  if (now.heapKB !== undefined) return `p99 ${number(before.p99, 1)} → ${number(now.p99, 1)} ms`;
  return `${number(before.perSecond)} → ${number(now.perSecond)} req/s`;
}

export function formatCores(result: BenchResult): string {
  const lines = result.rows
    .filter((row) => row.cores)
    .map((row) => {
      const used = Object.entries(row.cores!).map(([name, cores]) => `${name} ${number(cores, 2)}`);
      return `- ${row.scenario} ${row.what}: ${used.join(", ")}`;
    });
  return ["CPU cores used during each measured run:", ...lines].join("\n");
}

export function formatMachine(m: Machine): string {
  return `${m.cpus} CPUs (${m.cpuModel}), ${m.memory} memory, Node ${m.node}, Linux ${m.kernel}`;
}
