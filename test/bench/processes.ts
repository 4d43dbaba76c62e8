import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

/** A child Node process of the bench, with an IPC channel and its output in `<logDir>/<name>.log`. */
export interface BenchProcess {
  name: string;
  pid: number;
  /** Where `ready` first matched the child's output, with its capture groups. */
  readyMatch: RegExpExecArray;
  logPath: string;
  /** Sends a message and resolves with the child's next message. */
  call<T>(message: unknown, timeoutMs?: number): Promise<T>;
  /** SIGTERM, then SIGKILL after a grace period; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface StartOptions {
  name: string;
  script: string;
  env?: Record<string, string>;
  nodeFlags?: string[];
  /**
   * Output that says the child is ready (e.g. its listening line), or a URL that answers 200 once it is (for a child
   * that logs nothing); then `readyMatch[1]` is the URL's origin.
   */
  ready: RegExp | URL;
  logDir: string;
  /** Raise the soft open-file limit for this child (`ulimit -n` cannot be raised from inside Node). */
  openFiles?: number | null;
  startTimeoutMs?: number;
}

/** Whether `ulimit -n <count>` succeeds in a child shell, and the hard limit, for the report. */
export function openFileLimit(count: number): { ok: boolean; soft: number; hard: string; message: string } {
  const raised = spawnSync("bash", ["-c", `ulimit -n ${count} && ulimit -n`], { encoding: "utf8" });
  const current = spawnSync("bash", ["-c", "echo $(ulimit -Sn) $(ulimit -Hn)"], { encoding: "utf8" }).stdout.trim().split(" ");
  const soft = Number(current[0]);
  const hard = current[1] ?? "unknown";
  if (raised.status === 0) return { ok: true, soft: count, hard, message: `open-file limit raised to ${count} (hard limit ${hard})` };
  return {
    ok: false,
    soft,
    hard,
    message: `could not raise the open-file limit to ${count} (soft ${soft}, hard ${hard}): ${raised.stderr.trim().split("\n").pop()}`,
  };
}

/** A port that was free a moment ago; the gateway and the simulator must know each other's before either starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Starts `node <flags> <script>` through bash (for `ulimit -n`), with IPC open. Its output goes straight to
 * `<logDir>/<name>.log`: a pipe through the runner made every line the simulator logs cost it a blocking write.
 */
export async function startProcess(options: StartOptions): Promise<BenchProcess> {
  const node = [process.execPath, ...(options.nodeFlags ?? []), options.script];
  const limit = options.openFiles ? `ulimit -n ${options.openFiles} && ` : "";
  const logPath = join(options.logDir, `${options.name}.log`);
  const log = openSync(logPath, "a");
  // A name may be started again (e.g. each load generator run): only what this process writes can say it is ready.
  const offset = fstatSync(log).size;
  const child = spawn("bash", ["-c", `${limit}exec "$@"`, "bash", ...node], {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", log, log, "ipc"],
  });
  closeSync(log);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      resolve(exitCode);
    }),
  );

  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let readyMatch: RegExpExecArray | null = null;
  while (!readyMatch) {
    if (exitCode !== undefined) throw new Error(`${options.name} exited with ${exitCode} before it was ready; see ${logPath}`);
    if (Date.now() > deadline) throw new Error(`${options.name} did not start within ${timeoutMs} ms; see ${logPath}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    readyMatch =
      options.ready instanceof URL
        ? await answers(options.ready)
        : options.ready.exec(readFileSync(logPath).subarray(offset).toString("utf8"));
  }

  return {
    name: options.name,
    pid: child.pid!,
    readyMatch,
    logPath,
    call: <T>(message: unknown, timeoutMs = 600_000) => callChild<T>(child, options.name, message, timeoutMs),
    async stop() {
      if (exitCode === undefined) {
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
        await exited;
        clearTimeout(killer);
      }
      return exited;
    },
  };
}

async function answers(url: URL): Promise<RegExpExecArray | null> {
  // The gateway binds its port before it serves: a request that early waits until the handler is there, so give up.
  const ok = await fetch(url, { signal: AbortSignal.timeout(500) }).then(
    (response) => response.ok,
    () => false,
  );
  return ok ? (Object.assign([url.href, url.origin], { index: 0, input: url.href }) as unknown as RegExpExecArray) : null;
}

function callChild<T>(child: ChildProcess, name: string, message: unknown, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    const onMessage = (reply: unknown) => {
      cleanup();
      const failure = (reply as { error?: unknown } | null)?.error;
      if (typeof failure === "string") reject(new Error(`${name}: ${failure}`));
      else resolve(reply as T);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`${name} exited (${code}) while we waited for its answer`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${name} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.send(message as object);
  });
}

/**
 * The child side: answers each message from the runner with `handle`'s result (or `{ error }`), and exits when
 * the runner goes away, so that no load generator outlives an interrupted bench.
 */
export function serveRunner<M>(name: string, handle: (message: M) => Promise<unknown>): void {
  if (!process.send) throw new Error(`${name} must be started by the bench runner (no IPC channel)`);
  process.on("disconnect", () => process.exit(0));
  process.on("message", (message: M) => {
    handle(message).then(
      (reply) => process.send!(reply as object),
      (error: unknown) => process.send!({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
  console.log(`${name} ready`);
}
