/**
 * `npm run bench:memory`: the gateway's resident memory before and after N distinct documents, each a tiny query
 * padded with a ~58 KB comment (under the 64 KB body limit and the token limit). Every document is new, so every
 * one is parsed, validated, compiled and cached: the caches must stay within their byte caps. Options:
 * --requests=N (default 20000), --concurrency=N (default 16), --heap=MB (the gateway's --max-old-space-size).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startProcess } from "./processes.js";

const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [name, value] = arg.replace(/^--/, "").split("=");
    return [name!, value ?? ""];
  }),
);
const requests = Number(args.get("requests") ?? 20_000);
const concurrency = Number(args.get("concurrency") ?? 16);
const heapMb = args.get("heap");
const API_KEY = "bench-memory-0123456789abcdef";
const PADDING = "x".repeat(58 * 1024);

/** The process's resident memory, or 0 once it has died (e.g. out of heap). */
function rssMb(pid: number): number {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return 0;
  }
  const line = status.split("\n").find((l) => l.startsWith("VmRSS:"));
  return Math.round(Number(line?.split(/\s+/)[1]) / 1024);
}

const dir = mkdtempSync(join(tmpdir(), "kakaopay-bench-memory-"));
const port = await freePort();
const gateway = await startProcess({
  name: "gateway",
  script: "dist/src/main.js",
  nodeFlags: heapMb ? [`--max-old-space-size=${heapMb}`] : [],
  env: {
    NODE_ENV: "production",
    PORT: String(port),
    SIMULATOR_PORT: String(await freePort()),
    DATABASE_URL: `file:${join(dir, "gateway.db")}`,
    GATEWAY_API_KEYS: `bench:${API_KEY}`,
  },
  ready: /KakaoPay gateway on/,
  logDir: dir,
});
const url = `http://127.0.0.1:${port}/graphql`;
const send = async (i: number) => {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify({ query: `# ${i} ${PADDING}\n{ __typename }` }),
  });
  await response.text();
  return response.status;
};

for (let i = 0; i < 200; i++) await send(-i - 1); // warm up: code loaded, JIT compiled
const before = rssMb(gateway.pid);
const statuses = new Map<number, number>();
let next = 0;
let failed = 0;
let firstFailure: number | null = null;
let peak = before;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < requests) {
      const i = next++;
      try {
        const status = await send(i);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      } catch {
        failed++;
        firstFailure ??= i;
      }
      if (i % 500 === 0) peak = Math.max(peak, rssMb(gateway.pid));
    }
  }),
);
const alive = await send(-1).then(
  () => true,
  () => false,
);
const after = alive ? rssMb(gateway.pid) : null;
console.log(
  JSON.stringify({
    requests,
    heapMb: heapMb ?? "default",
    rssBeforeMb: before,
    rssAfterMb: after,
    rssPeakMb: alive ? Math.max(peak, after ?? 0) : peak,
    statuses: Object.fromEntries(statuses),
    failedRequests: failed,
    firstFailedRequest: firstFailure,
    gatewayAlive: alive,
  }),
);
await gateway.stop();
rmSync(dir, { recursive: true, force: true });
process.exit(alive && failed === 0 ? 0 : 1);
