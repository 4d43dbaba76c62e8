import { existsSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { BodyTooLarge, readBody } from "../http/body.js";
import type { RouteHandler } from "../http/server.js";
import { DEMO_CONTENT_SECURITY_POLICY, DEMO_PAGE } from "./page.js";
import { GatewayAnswer, MerchantServer } from "./merchant-server.js";

const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

const API_BODY_LIMIT = 4_096;

export interface DemoOptions {
  /** The gateway's own URL: the demo's server part calls its GraphQL API like any merchant server. */
  gatewayUrl: string;
  /** A server API key (config.apiKeys), kept on the server side: it never reaches the browser. */
  apiKey: string;
  log: (line: string) => void;
}

/**
 * GET /demo (simulator mode only): a demo checkout page, its script, and the files of the npm packages it uses,
 * from a fixed list built at start (URL path -> file); a path not in it is 404, so nothing else on disk is reachable.
 * /demo/api/… is the demo shop's "merchant server", which holds the API key.
 */
export function demoRoute(options: DemoOptions): RouteHandler {
  const files = staticFiles();
  const merchant = new MerchantServer(options.gatewayUrl, options.apiKey);
  return async (request, response, search) => {
    const path = (request.url ?? "/").split("?")[0]!;
    if (path.startsWith("/demo/api/")) return api(request, response, path, search, merchant);
    if (request.method !== "GET" && request.method !== "HEAD") return sendText(response, 405, "use GET", { allow: "GET, HEAD" });
    if (path === "/demo" || path === "/demo/")
      return send(response, 200, "text/html; charset=utf-8", DEMO_PAGE, { "cache-control": "no-store" });
    const file = files.get(path);
    if (!file) return sendText(response, 404, "not found");
    const type = CONTENT_TYPES[extname(file)]!;
    send(response, 200, type, await readFile(file), { "cache-control": "no-cache" });
  };
}

async function api(
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
  search: string,
  merchant: MerchantServer,
): Promise<void> {
  try {
    if (path === "/demo/api/payment-methods" && request.method === "GET") {
      const amount = Number(new URLSearchParams(search).get("amount"));
      return sendJson(response, 200, { paymentMethods: await merchant.paymentMethods(amount) });
    }
    if (request.method !== "POST") return sendJson(response, 404, { error: "not found" });
    // JSON only: a cross-site form cannot post it without a preflight, which the demo never answers.
    if (!request.headers["content-type"]?.startsWith("application/json")) {
      return sendJson(response, 415, { error: "send content-type: application/json" });
    }
    const body = JSON.parse((await readBody(request, API_BODY_LIMIT)).toString("utf8")) as Record<string, unknown>;
    if (path === "/demo/api/payments") {
      // The shopper comes back to the page they paid on (127.0.0.1 or localhost); RETURN_URL_ALLOWLIST still applies.
      const origin = request.headers.origin ?? merchant.gatewayUrl;
      return sendJson(response, 200, await merchant.startPayment(body.amount, `${origin}/demo`));
    }
    if (path === "/demo/api/refunds") return sendJson(response, 200, await merchant.refund(body.paymentId));
    sendJson(response, 404, { error: "not found" });
  } catch (error) {
    if (error instanceof BodyTooLarge) return sendJson(response, 413, { error: "body too large" });
    if (error instanceof SyntaxError) return sendJson(response, 400, { error: "the body is not JSON" });
    if (error instanceof GatewayAnswer) return sendJson(response, 400, { error: error.message });
    throw error;
  }
}

/** URL path -> file, for every file the demo serves besides its page. */
function staticFiles(): Map<string, string> {
  const require = createRequire(import.meta.url);
  const files = new Map<string, string>();
  const publicDir = join(packageRoot(), "src", "demo", "public");
  for (const name of ["checkout.js", "demo.css", "kakaopay.svg"]) files.set(`/demo/${name}`, join(publicDir, name));
  // adyen-web's ES module build: index.js and the modules it imports, and its stylesheet.
  const adyenWeb = join(dirname(require.resolve("@adyen/adyen-web")), "..", "es");
  for (const file of walk(adyenWeb)) {
    if (file.endsWith(".js") || file === join(adyenWeb, "adyen.css")) {
      files.set(`/demo/vendor/adyen-web/${relative(adyenWeb, file).split(sep).join("/")}`, file);
    }
  }
  // graphql-ws's browser client and the module it imports.
  const graphqlWs = dirname(require.resolve("graphql-ws"));
  for (const name of readdirSync(graphqlWs)) {
    if (name === "client.js" || /^common-[\w-]+\.js$/.test(name)) files.set(`/demo/vendor/graphql-ws/${name}`, join(graphqlWs, name));
  }
  return files;
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

/** The directory holding package.json: src/demo/public is found from src/demo (tests) and dist/src/demo alike. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("package.json not found above src/demo");
    dir = parent;
  }
  return dir;
}

function send(response: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  response.writeHead(status, {
    "content-type": type,
    "content-security-policy": DEMO_CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    ...headers,
  });
  response.end(body);
}

function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  send(response, status, "text/plain; charset=utf-8", text, headers);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, "application/json", JSON.stringify(body), { "cache-control": "no-store" });
}
