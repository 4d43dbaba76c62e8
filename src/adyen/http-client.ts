import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import adyen from "@adyen/api-library";
import type { ApiError } from "@adyen/api-library/lib/src/typings/apiError.js";
import type { IRequest } from "@adyen/api-library/lib/src/typings/requestOptions.js";
import { NO_TRACING, type Tracing } from "../observability/tracing.js";

// The library is CommonJS without an exports map: plain Node only sees its default export (docs/stack.md #1).
const { HttpClientException } = adyen;
type Config = InstanceType<typeof adyen.Config>;

const ADYEN_TEST_CHECKOUT = "https://checkout-test.adyen.com";
/**
 * An idle connection is closed after this long, before the server's own keep-alive timeout (Node's 5 s for the
 * simulator) can close it under a request we are just sending on it.
 */
const IDLE_SOCKET_MS = 4_000;
/**
 * What a call fails with when it outlived its timeout, or its answer was cut off. Sentinels made once: they never
 * leave this file, and an Error made per call (its stack trace) showed in the profile of every call's socket close.
 */
const TIMED_OUT = new Error("Adyen did not answer in time");
const CUT_OFF = new Error("Adyen's answer was cut off");

export interface AdyenHttpOptions {
  apiKey: string;
  timeoutMs: number;
  /** The simulator's base URL; Adyen's test host is rewritten to it. Absent for real Adyen. */
  baseUrl?: string;
  /** Told of every call: which Checkout operation, how it ended (ok, rejected: 4xx, unavailable) and how long it took. */
  observe?: (operation: AdyenOperation, outcome: AdyenOutcome, seconds: number) => void;
  /** One span per call. */
  tracing?: Tracing;
}

export type AdyenOperation = "paymentMethods" | "payments" | "paymentsDetails" | "refunds" | "storedPaymentMethods";
export type AdyenOutcome = "ok" | "rejected" | "unavailable";

/** The Checkout operation of a URL path such as /v72/payments/{pspReference}/refunds. */
function operationOf(pathname: string): AdyenOperation | null {
  if (pathname.endsWith("/paymentMethods")) return "paymentMethods";
  if (pathname.endsWith("/payments/details")) return "paymentsDetails";
  if (pathname.endsWith("/refunds")) return "refunds";
  if (pathname.endsWith("/payments")) return "payments";
  if (/\/storedPaymentMethods(\/|$)/.test(pathname)) return "storedPaymentMethods";
  return null;
}

/** The same split as AdyenCheckout's error mapping: 408 and 429 are Adyen not answering, other 4xx a rejection. */
function outcomeOf(status: number): AdyenOutcome {
  if (status >= 200 && status < 300) return "ok";
  return status >= 400 && status < 500 && status !== 408 && status !== 429 ? "rejected" : "unavailable";
}

/**
 * The one place that knows where Adyen is, how long we wait for it and which headers carry the API key
 * and the Idempotency-Key. Plugged into the library as its `ClientInterface`.
 */
export class AdyenHttpClient {
  /**
   * Raw answers by Idempotency-Key, until the caller takes them: the library drops fields it does not model when
   * it parses (docs/stack.md #4), and apps must get Adyen's `action` verbatim. (Not AsyncLocalStorage: on Node 20 it
   * turns on promise hooks for the whole process, which every request then pays for.)
   */
  private readonly rawAnswers = new Map<string, string>();
  /**
   * Keep-alive connections, reused across calls: a new connection (and for real Adyen a TLS handshake) per call, and
   * fetch's web streams, cost more CPU than the rest of a payment's Adyen call (BENCHMARKS.md, scenario 4).
   */
  private readonly agent: HttpAgent;
  private readonly secure: boolean;

  constructor(private readonly options: AdyenHttpOptions) {
    // Real Adyen over TLS; the simulator over plain http on 127.0.0.1.
    this.secure = new URL(options.baseUrl ?? ADYEN_TEST_CHECKOUT).protocol === "https:";
    const agentOptions = { keepAlive: true, timeout: IDLE_SOCKET_MS };
    this.agent = this.secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  }

  /** Closes the idle connections; a call after this opens new ones. */
  close(): void {
    this.agent.destroy();
  }

  /** The raw body of the answer to the request sent with this Idempotency-Key, once. */
  takeRawAnswer(idempotencyKey: string): string | undefined {
    const body = this.rawAnswers.get(idempotencyKey);
    this.rawAnswers.delete(idempotencyKey);
    return body;
  }

  request(
    endpoint: string,
    json: string | Buffer,
    _config: Config,
    _isApiKeyRequired: boolean,
    requestOptions: IRequest.Options = {},
  ): Promise<string> {
    const url = new URL(this.options.baseUrl ? endpoint.replace(ADYEN_TEST_CHECKOUT, this.options.baseUrl) : endpoint);
    const operation = operationOf(url.pathname);
    const tracing = this.options.tracing ?? NO_TRACING;
    return tracing.span(`adyen.${operation ?? "other"}`, { "http.request.method": requestOptions.method ?? "POST" }, () =>
      this.send(url, json, operation, requestOptions),
    );
  }

  private async send(url: URL, json: string | Buffer, operation: AdyenOperation | null, requestOptions: IRequest.Options): Promise<string> {
    if (requestOptions.params) {
      for (const [name, value] of new URLSearchParams(requestOptions.params)) url.searchParams.append(name, value);
    }
    const method = requestOptions.method ?? "POST";
    // A fresh header object per call: the library's options object must never carry one call's key into the next.
    const headers: Record<string, string> = {
      "X-API-Key": this.options.apiKey,
      "Content-Type": "application/json",
      Accept: "application/json",
    };
    if (requestOptions.idempotencyKey) headers["Idempotency-Key"] = requestOptions.idempotencyKey;

    const started = performance.now();
    const observe = (status: number) => {
      if (operation) this.options.observe?.(operation, outcomeOf(status), (performance.now() - started) / 1000);
    };
    let answer: { status: number; body: string };
    try {
      answer = await this.exchange(url, method, headers, method === "GET" || method === "DELETE" ? undefined : json);
    } catch (error) {
      observe(0);
      const timedOut = error === TIMED_OUT;
      const noAnswer = new HttpClientException({
        message: timedOut ? `Adyen did not answer within ${this.options.timeoutMs} ms` : "Adyen could not be reached",
        errorCode: timedOut ? "TIMEOUT" : "NETWORK",
      });
      // The library's constructor turns a missing or 0 statusCode into 500; 0 says there was no HTTP answer at all.
      noAnswer.statusCode = 0;
      throw noAnswer;
    }
    const { status, body } = answer;
    observe(status);
    if (status < 200 || status >= 300) {
      const apiError = adyenError(body);
      throw new HttpClientException({
        message: `HTTP Exception: ${status}`,
        statusCode: status,
        responseBody: body,
        errorCode: apiError?.errorCode,
        apiError,
      });
    }
    if (requestOptions.idempotencyKey) this.rawAnswers.set(requestOptions.idempotencyKey, body);
    return body;
  }

  /**
   * One request on a kept-alive connection: the status and whole body, or TIMED_OUT once timeoutMs has passed since
   * it was sent (waiting for a connection, the answer and its body all count), or the socket's error.
   */
  private exchange(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: string | Buffer | undefined,
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = (error: unknown, answer?: { status: number; body: string }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (answer) resolve(answer);
        else reject(error);
      };
      if (body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(body));
      const request = (this.secure ? httpsRequest : httpRequest)(
        url,
        { method, headers, agent: this.agent },
        (response: IncomingMessage) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => {
            if (response.complete) settle(null, { status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
            else settle(CUT_OFF);
          });
          response.on("error", settle);
          // The connection closed before the whole body arrived.
          response.on("close", () => settle(CUT_OFF));
        },
      );
      timer = setTimeout(() => {
        settle(TIMED_OUT);
        request.destroy();
      }, this.options.timeoutMs);
      request.on("error", settle);
      request.end(body);
    });
  }
}

/** Adyen's error body (the spec's ServiceError): its errorCode, message and pspReference, where they are strings. */
function adyenError(body: string): ApiError | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // Not Adyen's JSON error body (e.g. a proxy's HTML page): there is nothing of Adyen's to report.
    return undefined;
  }
  if (!parsed || typeof parsed !== "object") return undefined;
  const fields = parsed as Record<string, unknown>;
  const text = (name: string): string | undefined => (typeof fields[name] === "string" ? fields[name] : undefined);
  return { errorCode: text("errorCode"), message: text("message"), pspReference: text("pspReference") };
}
