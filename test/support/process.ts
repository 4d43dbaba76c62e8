import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { ALPHA_KEY, BETA_KEY, CLIENT_SECRET_KEY, HMAC_KEY, WEBHOOK_PASSWORD, WEBHOOK_USER } from "./gateway.js";

/** The built gateway (`npm test` builds first) as its own process: for crashes, signals and restarts. */
export interface GatewayProcess {
  url: string;
  simulatorUrl: string;
  child: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The command that runs the gateway: the built file by default, or e.g. `npm start` (from the repository root). */
export type Command = [string, ...string[]];
const NODE_MAIN: Command = [process.execPath, "dist/src/main.js"];

/** Spawns the gateway; `output` collects stdout and stderr line by line. */
export function spawnGateway(dir: string, env: Record<string, string> = {}, command: Command = NODE_MAIN) {
  const [file, ...args] = command;
  const child = spawn(file, args, {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ADYEN_ENVIRONMENT: "simulator",
      PORT: "0",
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
    },
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

export async function startGatewayProcess(
  dir: string,
  env: Record<string, string> = {},
  command: Command = NODE_MAIN,
): Promise<GatewayProcess> {
  const { child, output, exited } = spawnGateway(dir, env, command);
  const started = new Promise<{ url: string; simulatorUrl: string }>((resolve, reject) => {
    const check = () => {
      const url = output.map((line) => /KakaoPay gateway on (http:\/\/[^/]+)\/graphql/.exec(line)?.[1]).find(Boolean);
      const simulatorUrl = output.map((line) => /Adyen simulator on (http:\/\/\S+)/.exec(line)?.[1]).find(Boolean);
      if (url && simulatorUrl) resolve({ url, simulatorUrl });
    };
    child.stdout!.on("data", check);
    child.stderr!.on("data", check);
    void exited.then(({ code }) => reject(new Error(`gateway exited with ${code} before it served:\n${output.join("\n")}`)));
  });
  const { url, simulatorUrl } = await started;
  return { url, simulatorUrl, child, output, exited };
}

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
