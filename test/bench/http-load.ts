/**
 * The HTTP load generator, in its own process: autocannon's programmatic API driven by one job per message. Every
 * measured scenario's requests are built the same way and its answers checked the same way (every status, and the
 * body of one answer in `checkEvery`), so the generator costs about the same per request in each and the ratios
 * compare the servers, not the generator: checking every body (autocannon builds a header object for each answer it
 * hands to a callback) halved what it could send to the raw baseline.
 */
import { performance } from "node:perf_hooks";
import autocannon from "autocannon";
import { serveRunner } from "./processes.js";

export interface HttpJob {
  url: string;
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  /** Request bodies, used in turn; with `once`, each exactly once (e.g. webhooks for distinct payments). */
  bodies: string[];
  /** Send each body once; their number must be a multiple of `connections` (autocannon splits it evenly). */
  once: boolean;
  connections: number;
  /** Seconds; ignored with `once`. */
  duration: number;
  /** A checked response without this text counts as an error (GraphQL errors come with status 200). */
  expect: string;
  /** The body of one response in this many is checked for `expect` (and harvested); every status is checked. */
  checkEvery: number;
  /** Collect the payments that startKakaoPayPayment answered (in the checked responses). */
  harvest: boolean;
}

export interface HarvestedPayment {
  id: string;
  reference: string;
  pspReference: string;
}

export interface HttpResult {
  requests: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  /** Connection errors, timeouts, answers that were not 2xx, and checked answers that lacked `expect`. */
  errorKinds: { connection: number; timeouts: number; notOk: number; wrongBody: number };
  harvested: HarvestedPayment[];
}

const ID = /"id":"([^"]+)"/;
const REFERENCE = /"reference":"([^"]+)"/;
const PSP_REFERENCE = /"pspReference":"([^"]+)"/;

/**
 * Each connection gets its own slice of the bodies, built into requests once: a setupRequest callback (rebuilding
 * every request) cost the generator a quarter or more of its throughput here, and autocannon deep-copies `requests`
 * into every connection. One measured run per call; the runner warms up with a call of its own, so a profile can leave it out.
 */
async function run(job: HttpJob): Promise<HttpResult> {
  if (job.bodies.length === 0) throw new Error("no request bodies");
  if (job.once && job.bodies.length % job.connections !== 0) {
    throw new Error(`${job.bodies.length} bodies is not a multiple of ${job.connections} connections`);
  }
  const harvested: HarvestedPayment[] = [];
  let wrongBody = 0;
  const onResponse = (status: number, body: string) => {
    // Statuses are autocannon's count (non2xx); only a 2xx body is looked at here.
    if (status < 200 || status > 299) return;
    if (!body.includes(job.expect)) {
      wrongBody += 1;
    } else if (job.harvest) {
      const id = ID.exec(body)?.[1];
      const reference = REFERENCE.exec(body)?.[1];
      const pspReference = PSP_REFERENCE.exec(body)?.[1];
      if (id && reference && pspReference) harvested.push({ id, reference, pspReference });
      else wrongBody += 1;
    }
  };
  const { method, path, headers } = job;
  const request = (body: string, index: number): autocannon.RequestSpec =>
    index % job.checkEvery === 0 ? { method, path, headers, body, onResponse } : { method, path, headers, body };
  // A connection loops over its list: repeated to a whole number of `checkEvery`, exactly one in `checkEvery` is
  // checked whatever the slice's length. With `once` each body is sent once, so its list stays as it is.
  const slices = slice(job.bodies, job.connections).map((bodies) =>
    (job.once ? bodies : repeat(bodies, lcm(bodies.length, job.checkEvery) / bodies.length)).map(request),
  );
  let connection = 0;

  const started = performance.now();
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    timeout: 30,
    // With `once`, autocannon gives each connection amount/connections requests: exactly its slice.
    ...(job.once ? { amount: job.bodies.length } : { duration: job.duration }),
    requests: [request(job.bodies[0]!, 0)],
    setupClient: (client) => client.setRequests(slices[connection++ % slices.length]!),
  });
  const seconds = (performance.now() - started) / 1000;
  const errorKinds = {
    connection: result.errors - result.timeouts,
    timeouts: result.timeouts,
    notOk: result.non2xx,
    wrongBody,
  };
  return {
    requests: result.requests.total,
    requestsPerSecond: result.requests.total / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: errorKinds.connection + errorKinds.timeouts + errorKinds.notOk + errorKinds.wrongBody,
    errorKinds,
    harvested,
  };
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const lcm = (a: number, b: number) => (a / gcd(a, b)) * b;
const repeat = <T>(items: T[], times: number): T[] => Array.from({ length: times }, () => items).flat();

/** Equal contiguous slices, one per connection; fewer bodies than connections: every connection gets them all. */
function slice(bodies: string[], count: number): string[][] {
  if (bodies.length < count) return [bodies];
  const size = Math.floor(bodies.length / count);
  return Array.from({ length: count }, (_, i) => bodies.slice(i * size, i === count - 1 ? bodies.length : (i + 1) * size));
}

serveRunner<HttpJob>("http-load", run);
