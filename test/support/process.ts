import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { ALPHA_KEY, BETA_KEY, CLIENT_SECRET_KEY, HMAC_KEY, WEBHOOK_PASSWORD, WEBHOOK_USER } from "./gateway.js";

/** A process of ours: `output` collects its stdout and stderr line by line. */
export interface Spawned {
  child: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The built gateway (`npm test` builds first) as its own process: for crashes, signals and restarts. */
export interface GatewayProcess extends Spawned {
  url: string;
  simulatorUrl: string;
}

/** The command that runs the gateway: the built file by default, or e.g. `npm start` (from the repository root). */
export type Command = [string, ...string[]];
const NODE_MAIN: Command = [process.execPath, "dist/src/main.js"];
const SIMULATOR_MAIN: Command = [process.execPath, "dist/src/simulator/main.js"];

export const GATEWAY_SERVES = /KakaoPay gateway on (http:\/\/[^/]+)\/graphql/;
const SIMULATOR_SERVES = /simulator listening on (http:\/\/[0-9.:]+)/;

/** Spawns `command` with only PATH and HOME of the test's environment, plus `env`. */
function spawnProcess([file, ...args]: Command, env: Record<string, string>): Spawned {
  const child = spawn(file, args, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const onLine = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) if (line) output.push(line);
  };
  child.stdout!.on("data", onLine);
  child.stderr!.on("data", onLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, output, exited };
}

/** Spawns the gateway; `output` collects stdout and stderr line by line. */
export function spawnGateway(dir: string, env: Record<string, string> = {}, command: Command = NODE_MAIN): Spawned {
  return spawnProcess(command, {
    ADYEN_ENVIRONMENT: "simulator",
    PORT: "0",
    METRICS_PORT: "0",
    DATABASE_URL: `file:${join(dir, "gateway.db")}`,
    GATEWAY_API_KEYS: `alpha:${ALPHA_KEY},beta:${BETA_KEY}`,
    RETURN_URL_ALLOWLIST: "https://shop.example,myapp://",
    ADYEN_HMAC_KEY: HMAC_KEY,
    ADYEN_WEBHOOK_USERNAME: WEBHOOK_USER,
    ADYEN_WEBHOOK_PASSWORD: WEBHOOK_PASSWORD,
    CLIENT_SECRET_KEY,
    SIMULATOR_WEBHOOK_DELAY_MS: "600000",
    SIMULATOR_PENDING_DELAY_MS: "600000",
    ...env,
  });
}

/** Resolves with the URL a process prints when it serves (`pattern` captures it), or rejects if it exits first. */
export function served(run: Spawned, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const url = run.output.map((line) => pattern.exec(line)?.[1]).find(Boolean);
      if (url) resolve(url);
    };
    run.child.stdout!.on("data", check);
    run.child.stderr!.on("data", check);
    check();
    void run.exited.then(({ code }) => reject(new Error(`exited with ${code} before it served:\n${run.output.join("\n")}`)));
  });
}

export async function startGatewayProcess(
  dir: string,
  env: Record<string, string> = {},
  command: Command = NODE_MAIN,
): Promise<GatewayProcess> {
  const run = spawnGateway(dir, env, command);
  const [url, simulatorUrl] = await Promise.all([served(run, GATEWAY_SERVES), served(run, /Adyen simulator on (http:\/\/[^\s"]+)/)]);
  return { ...run, url, simulatorUrl };
}

/**
 * The simulator as its own process (`npm run simulator`) on a free port, with the tests' secrets; `env` gives at
 * least ADYEN_API_KEY and SIMULATOR_WEBHOOK_URL. Tests reach its control plane over HTTP (src/simulator/control.ts).
 */
export async function startSimulatorProcess(env: Record<string, string>): Promise<Spawned & { url: string }> {
  const run = spawnProcess(SIMULATOR_MAIN, {
    SIMULATOR_PORT: "0",
    ADYEN_HMAC_KEY: HMAC_KEY,
    ADYEN_WEBHOOK_USERNAME: WEBHOOK_USER,
    ADYEN_WEBHOOK_PASSWORD: WEBHOOK_PASSWORD,
    ...env,
  });
  return { ...run, url: await served(run, SIMULATOR_SERVES) };
}

/** Ports nobody listens on right now (the OS picks them), all different. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  // All held open at once, so that the OS cannot hand out one port twice.
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))));
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}
