/**
 * CPU time from /proc: who used the 2 cores during a measured run. A gateway below one core was waiting (on the
 * disk, or on a load generator that could not keep up); CPU used by processes that are not the bench's, or stolen
 * by the hypervisor, means the numbers are understated. `kernel` is the rest: kernel threads (e.g. the journal
 * writing our fsyncs) and interrupts (loopback networking).
 */
import { readdirSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const TICKS_PER_SECOND = 100;

interface Snapshot {
  at: number;
  busy: number;
  steal: number;
  /** CPU seconds of every user-space process, by pid. */
  processes: Map<number, number>;
}

export function cpuSnapshot(): Snapshot {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
  const busy = [0, 1, 2, 5, 6, 7].reduce((sum, i) => sum + (fields[i] ?? 0), 0) / TICKS_PER_SECOND;
  const processes = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const seconds = userProcessSeconds(Number(entry));
    if (seconds !== null) processes.set(Number(entry), seconds);
  }
  return { at: performance.now(), busy, steal: (fields[7] ?? 0) / TICKS_PER_SECOND, processes };
}

/**
 * CPU seconds (user + system, all its threads) of one process, once it has gone idle: a server's work can outlast
 * its load (a webhook is applied after it is acknowledged), and an operation's cost includes that. Idle is at most
 * one clock tick (10 ms) in 200 ms, waited for up to `maxMs`.
 */
export async function settledProcessSeconds(pid: number, maxMs = 10_000): Promise<number> {
  const deadline = performance.now() + maxMs;
  let last = userProcessSeconds(pid) ?? 0;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = userProcessSeconds(pid) ?? last;
    if (now - last < 1.5 / TICKS_PER_SECOND || performance.now() > deadline) return now;
    last = now;
  }
}

/** utime + stime of a user-space process; null for kernel threads (no command line) and processes gone. */
export function userProcessSeconds(pid: number): number | null {
  try {
    if (readFileSync(`/proc/${pid}/cmdline`).length === 0) return null;
    // The command name may hold spaces: the fields we want follow its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** Cores used between two snapshots by each of `ours` (name -> pid), by `others` and by the `kernel`. */
export function coresUsed(before: Snapshot, after: Snapshot, ours: ReadonlyMap<string, number>): Record<string, number> {
  const seconds = (after.at - before.at) / 1000;
  const used = (pid: number) => Math.max(0, (after.processes.get(pid) ?? 0) - (before.processes.get(pid) ?? 0));
  const cores: Record<string, number> = {};
  const ourPids = new Set(ours.values());
  let oursTotal = 0;
  for (const [name, pid] of ours) {
    cores[name] = used(pid) / seconds;
    oursTotal += used(pid);
  }
  let othersTotal = after.steal - before.steal;
  for (const pid of after.processes.keys()) if (!ourPids.has(pid)) othersTotal += used(pid);
  cores.others = othersTotal / seconds;
  cores.kernel = Math.max(0, after.busy - before.busy - oursTotal - othersTotal) / seconds;
  return cores;
}

/**
 * Waits (up to `maxMs`) until all processes but `exempt` use less than `threshold` cores together: on a shared
 * machine a test run elsewhere would halve a measurement, and so would the gateway's work left from the previous
 * run. Resolves with the cores they last used.
 */
export async function quietMachine(exempt: ReadonlySet<number>, threshold = 0.1, maxMs = 60_000): Promise<number> {
  const deadline = performance.now() + maxMs;
  for (;;) {
    const before = cpuSnapshot();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = cpuSnapshot();
    const seconds = (after.at - before.at) / 1000;
    let others = after.steal - before.steal;
    for (const [pid, value] of after.processes) if (!exempt.has(pid)) others += value - (before.processes.get(pid) ?? 0);
    const cores = others / seconds;
    if (cores < threshold || performance.now() > deadline) return cores;
  }
}
