/**
 * Aggregates a V8 .cpuprofile: self time by function and by module (package, or our file), the time each module is
 * on the stack, and inclusive time of our own functions (src/). `node dist/test/bench/profile-summary.js <file.cpuprofile> [top]`
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a function lives: `pkg` for node_modules, `src/…` for the gateway, `node:…` for Node's own code. */
export function moduleOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const packages = url.split("/node_modules/");
  if (packages.length > 1) {
    const parts = packages.at(-1)!.split("/");
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith("node:")) return url.split("/")[0]!;
  return fileOf(url);
}

/** The file, short: inside its package for node_modules, from src/ for ours. */
function fileOf(url: string): string {
  const inPackage = url.split("/node_modules/");
  if (inPackage.length > 1) return inPackage.at(-1)!;
  return /\/dist\/((?:src|test)\/.*)$/.exec(url)?.[1] ?? url;
}

function functionKey(frame: CallFrame): string {
  const name = frame.functionName || "(anonymous)";
  if (frame.url === "") return moduleOf(frame.url, frame.functionName) === name ? name : `${name}  (native)`;
  return `${name}  ${fileOf(frame.url)}:${frame.lineNumber + 1}`;
}

function top(map: Map<string, number>, count: number): Array<[string, number]> {
  return [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
}

/** Functions and modules that are on nearly every stack: listing them says nothing. */
const EVERYWHERE = new Set(["(root)", "(native)", "node:internal"]);

export function summariseProfile(path: string, count = 15): { cpuMs: number; text: string } {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);

  const self = new Map<string, number>();
  const modules = new Map<string, number>();
  const underModule = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);

  profile.samples.forEach((id, index) => {
    const node = nodes.get(id)!;
    const ms = (profile.timeDeltas[index] ?? 0) / 1000;
    if (node.callFrame.functionName === "(idle)") return;
    total += ms;
    add(self, functionKey(node.callFrame), ms);
    add(modules, moduleOf(node.callFrame.url, node.callFrame.functionName), ms);
    // Each module, and each of our functions, once per sample however deep the recursion.
    const seenModules = new Set<string>();
    const seenFunctions = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const frame = nodes.get(at)!.callFrame;
      const module = moduleOf(frame.url, frame.functionName);
      if (!seenModules.has(module)) {
        seenModules.add(module);
        add(underModule, module, ms);
      }
      const key = functionKey(frame);
      if (module.startsWith("src/") && !seenFunctions.has(key)) {
        seenFunctions.add(key);
        add(inclusive, key, ms);
      }
    }
  });

  const line = ([key, ms]: [string, number]) =>
    `  ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(6)} ms  ${key}`;
  const table = (title: string, rows: Array<[string, number]>) => [title, ...rows.map(line)].join("\n");
  for (const module of EVERYWHERE) underModule.delete(module);
  const text = [
    `${path}: ${total.toFixed(0)} ms on CPU (idle excluded)`,
    table("self time by function:", top(self, count)),
    table("self time by module:", top(modules, count)),
    table("time with the module on the stack (a caller's includes its callees'):", top(underModule, count)),
    table("inclusive time of our own functions (src/):", top(inclusive, count)),
  ].join("\n");
  return { cpuMs: total, text };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, count] = process.argv.slice(2);
  if (!file) {
    console.error("usage: node dist/test/bench/profile-summary.js <file.cpuprofile> [top]");
    process.exit(2);
  }
  console.log(summariseProfile(file, count ? Number(count) : undefined).text);
}
