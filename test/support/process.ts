import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { ALPHA_KEY, BETA_KEY, HMAC_KEY, WEBHOOK_PASSWORD, WEBHOOK_USER } from "./gateway.js";

/** The built gateway (`npm test` builds first) as its own process: for crashes, signals and restarts. */
export interface GatewayProcess {
  url: string;
  simulatorUrl: string;
  child: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startGatewayProcess(dir: string, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [...nodeArgs, "dist/src/main.js"], {
    env: {
      PATH: process.env.PATH,
      ADYEN_ENVIRONMENT: "simulator",
      PORT: "0",
      METRICS_PORT: "0",
      DATABASE_URL: `file:${join(dir, "gateway.db")}`,
      GATEWAY_API_KEYS: `alpha:${ALPHA_KEY},beta:${BETA_KEY}`,
      RETURN_URL_ALLOWLIST: "https://shop.example,myapp://",
      ADYEN_HMAC_KEY: HMAC_KEY,
      ADYEN_WEBHOOK_USERNAME: WEBHOOK_USER,
      ADYEN_WEBHOOK_PASSWORD: WEBHOOK_PASSWORD,
      SIMULATOR_WEBHOOK_DELAY_MS: "600000",
      SIMULATOR_PENDING_DELAY_MS: "600000",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const started = new Promise<{ url: string; simulatorUrl: string }>((resolve, reject) => {
    let url = "";
    const onLine = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) {
        if (line) output.push(line);
        url ||= /KakaoPay gateway on (http:\/\/[^/]+)\/graphql/.exec(line)?.[1] ?? "";
        const simulatorUrl = /Adyen simulator on (http:\/\/[^\s"]+)/.exec(line)?.[1];
        if (url && simulatorUrl) resolve({ url, simulatorUrl });
      }
    };
    child.stdout!.on("data", onLine);
    child.stderr!.on("data", onLine);
    void exited.then(({ code }) => reject(new Error(`gateway exited with ${code} before it served:\n${output.join("\n")}`)));
  });
  const { url, simulatorUrl } = await started;
  return { url, simulatorUrl, child, output, exited };
}
