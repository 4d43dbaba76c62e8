import adyen from "@adyen/api-library";
import type { ApiError } from "@adyen/api-library/lib/src/typings/apiError.js";
import type { IRequest } from "@adyen/api-library/lib/src/typings/requestOptions.js";

// The library is CommonJS without an exports map: plain Node only sees its default export (docs/stack.md #1).
const { HttpClientException } = adyen;
type Config = InstanceType<typeof adyen.Config>;

const ADYEN_TEST_CHECKOUT = "https://checkout-test.adyen.com";

export interface AdyenHttpOptions {
  apiKey: string;
  timeoutMs: number;
  /** The simulator's base URL; Adyen's test host is rewritten to it. Absent for real Adyen. */
  baseUrl?: string;
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

  constructor(private readonly options: AdyenHttpOptions) {}

  /** The raw body of the answer to the request sent with this Idempotency-Key, once. */
  takeRawAnswer(idempotencyKey: string): string | undefined {
    const body = this.rawAnswers.get(idempotencyKey);
    this.rawAnswers.delete(idempotencyKey);
    return body;
  }

  async request(
    endpoint: string,
    json: string | Buffer,
    _config: Config,
    _isApiKeyRequired: boolean,
    requestOptions: IRequest.Options = {},
  ): Promise<string> {
    const url = new URL(this.options.baseUrl ? endpoint.replace(ADYEN_TEST_CHECKOUT, this.options.baseUrl) : endpoint);
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

    let response: Response;
    let body: string;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: method === "GET" || method === "DELETE" ? undefined : json.toString(),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      body = await response.text();
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === "TimeoutError";
      const noAnswer = new HttpClientException({
        message: timedOut ? `Adyen did not answer within ${this.options.timeoutMs} ms` : "Adyen could not be reached",
        errorCode: timedOut ? "TIMEOUT" : "NETWORK",
      });
      // The library's constructor turns a missing or 0 statusCode into 500; 0 says there was no HTTP answer at all.
      noAnswer.statusCode = 0;
      throw noAnswer;
    }
    if (!response.ok) {
      const apiError = adyenError(body);
      throw new HttpClientException({
        message: `HTTP Exception: ${response.status}`,
        statusCode: response.status,
        responseBody: body,
        errorCode: apiError?.errorCode,
        apiError,
      });
    }
    if (requestOptions.idempotencyKey) this.rawAnswers.set(requestOptions.idempotencyKey, body);
    return body;
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
