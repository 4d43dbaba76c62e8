import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CheckoutApi, CheckoutResponse } from "./checkout.js";
import { handleControlRequest, type SimulatorControl } from "./control.js";
import type { FaultInjector } from "./faults.js";
import type { HostedPaymentPage } from "./hosted-page.js";
import { BodyTooLargeError, readBody, sendJson } from "./http-io.js";
import {
  idempotencyKeyReused,
  idempotencyKeyTooLong,
  internalError,
  malformedJson,
  requestInProgress,
  notFound,
  notSimulated,
  requestTooLarge,
  schemaViolation,
  unauthorised,
  validation,
  type ServiceError,
} from "./service-errors.js";
import type { CheckoutOperation, CheckoutSpec, OperationMatch } from "./spec.js";
import { idempotencyScope, requestFingerprint, type Ledger } from "./state.js";
import type { Logger } from "../payments/logger.js";

const API_PREFIX = "/v72";
const API_BODY_LIMIT_BYTES = 1_048_576;
/** Adyen's limit on Idempotency-Key. */
const IDEMPOTENCY_KEY_MAX_LENGTH = 64;
const HOSTED_PAGE_PATH = /^\/hpp\/kakaopay\/([A-Za-z0-9_-]+)$/;

interface Answer extends CheckoutResponse {
  headers?: Record<string, string>;
  /** The idempotency scope of a request processed now (not a replay): in progress until its answer is sent. */
  idempotencyScope?: string;
  /** Already checked against the spec (before it was remembered for its Idempotency-Key): not checked again. */
  checked?: true;
}

const errorAnswer = (error: ServiceError): Answer => ({ status: error.status, body: error });

/** Checkout requests received, by path template: the requestsByPath of the stats. */
export class RequestCounter {
  private readonly counts = new Map<string, number>();

  count(path: string): void {
    this.counts.set(path, (this.counts.get(path) ?? 0) + 1);
  }

  byPath(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}

const digest = (value: string): Buffer => createHash("sha256").update(value).digest();

/** Compares a secret with the expected one's digest in constant time; hashing gives both sides the same length. */
function sameSecret(given: string, expectedDigest: Buffer): boolean {
  return timingSafeEqual(digest(given), expectedDigest);
}

function singleHeader(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Routes the simulator's listener: Checkout v72 under /v72 (auth, faults, spec validation both ways, idempotency),
 * the hosted KakaoPay page under /hpp/kakaopay, and the test control plane under /__control.
 */
export class SimulatorRouter {
  private readonly slowAnswers = new Set<NodeJS.Timeout>();
  /** Idempotency scopes whose first request is processed but not yet answered (the "slow" fault). */
  private readonly scopesInProgress = new Set<string>();
  private readonly apiKeyDigest: Buffer;

  constructor(
    private readonly deps: {
      apiKey: string;
      spec: CheckoutSpec;
      checkout: CheckoutApi;
      hostedPage: HostedPaymentPage;
      control: SimulatorControl;
      faults: FaultInjector;
      ledger: Ledger;
      requests: RequestCounter;
      logger: Logger;
    },
  ) {
    this.apiKeyDigest = digest(deps.apiKey);
  }

  readonly handle = (request: IncomingMessage, response: ServerResponse): void => {
    this.route(request, response).catch((error: unknown) => {
      const target = `${request.method} ${request.url?.split("?")[0]}`;
      // A client that hangs up mid-request makes reading its body fail: that is the client's doing, not a bug.
      if (request.socket.destroyed) {
        this.deps.logger.info({}, `${target}: client went away`);
        return;
      }
      this.deps.logger.error({ err: error, target }, "simulator BUG: request failed");
      if (!response.headersSent) sendJson(response, 500, internalError());
      else response.destroy();
    });
  };

  /** Drops answers still being slowed down; their sockets are closed with the listener. */
  close(): void {
    for (const timer of this.slowAnswers) clearTimeout(timer);
    this.slowAnswers.clear();
    this.scopesInProgress.clear();
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://simulator.invalid");
    if (url.pathname.startsWith(`${API_PREFIX}/`)) return this.checkout(request, response, url);
    const hostedPage = HOSTED_PAGE_PATH.exec(url.pathname);
    if (hostedPage?.[1] !== undefined) return this.deps.hostedPage.handle(request, response, hostedPage[1]);
    if (url.pathname === "/__control" || url.pathname.startsWith("/__control/")) {
      return handleControlRequest(this.deps.control, request, response, url.pathname);
    }
    response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Not found\n");
  }

  private async checkout(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const method = request.method ?? "";
    const apiPath = url.pathname.slice(API_PREFIX.length);
    const match = this.deps.spec.match(method, apiPath);
    this.deps.requests.count(API_PREFIX + (match?.operation.pathTemplate ?? apiPath));
    const label = `${method} ${API_PREFIX}${match?.operation.pathTemplate ?? apiPath}`;

    const fault = this.deps.faults.take(match === undefined ? [apiPath] : [apiPath, match.operation.pathTemplate]);
    if (fault?.mode === "reset") {
      this.deps.logger.info({}, `${label} -> connection reset (fault)`);
      request.socket.destroy();
      return;
    }
    if (fault?.mode === "5xx") {
      this.deps.logger.info({}, `${label} -> 500 (fault)`);
      this.send(response, this.validated(match?.operation, errorAnswer(internalError())));
      return;
    }

    // Faults "timeout" and "slow" lose or delay the answer of a request that Adyen did process.
    const answer = this.validated(match?.operation, await this.answer(request, url, apiPath, match));
    if (answer.withheld === true) {
      this.deps.logger.info({}, `${label} -> ${answer.status}, never sent (SLOW reference)`);
      return;
    }
    if (fault?.mode === "timeout") {
      this.deps.logger.info({}, `${label} -> ${answer.status}, never sent (fault)`);
      return;
    }
    if (fault?.mode === "slow") {
      this.deps.logger.info({}, `${label} -> ${answer.status}, sent after ${fault.slowMs} ms (fault)`);
      const scope = answer.idempotencyScope;
      if (scope !== undefined) this.scopesInProgress.add(scope);
      const timer = setTimeout(() => {
        this.slowAnswers.delete(timer);
        if (scope !== undefined) this.scopesInProgress.delete(scope);
        this.send(response, answer);
      }, fault.slowMs);
      this.slowAnswers.add(timer);
      return;
    }
    this.deps.logger.debug({}, `${label} -> ${answer.status}`);
    this.send(response, answer);
  }

  private async answer(request: IncomingMessage, url: URL, apiPath: string, match: OperationMatch | undefined): Promise<Answer> {
    if (!sameSecret(singleHeader(request, "x-api-key") ?? "", this.apiKeyDigest)) return errorAnswer(unauthorised());
    if (match === undefined)
      return errorAnswer(this.deps.spec.definesOperation(request.method ?? "", apiPath) ? notSimulated() : notFound());
    const { operation, pathParameters } = match;

    let body: unknown;
    if (operation.validateBody !== undefined) {
      let raw: string;
      try {
        raw = await readBody(request, API_BODY_LIMIT_BYTES);
      } catch (error) {
        if (error instanceof BodyTooLargeError) return errorAnswer(requestTooLarge());
        throw error;
      }
      try {
        body = JSON.parse(raw);
      } catch {
        return errorAnswer(malformedJson());
      }
      const violation = operation.validateBody(body);
      if (violation !== undefined) return errorAnswer(schemaViolation(violation));
    }

    const parameters: Record<string, string> = {};
    for (const [name, value] of url.searchParams) {
      if (name in parameters) return errorAnswer(validation("000", `Query parameter '${name}' is given more than once`));
      parameters[name] = value;
    }
    Object.assign(parameters, pathParameters);
    const violation = operation.validateParameters(parameters);
    if (violation !== undefined) return errorAnswer(schemaViolation(violation));

    const idempotencyKey = singleHeader(request, "idempotency-key");
    const handle = (): Answer => this.deps.checkout.handle(operation.id, { body, parameters, idempotencyKey });
    // Adyen honours Idempotency-Key on POST only; GET and DELETE are idempotent by definition.
    if (operation.method !== "POST" || idempotencyKey === undefined) return handle();
    return this.idempotent(idempotencyKey, url, body, operation, handle);
  }

  /**
   * Answers a repeated key with the first answer, verbatim, without running the operation again, or with 422/704
   * while the first is still in progress. Only requests that passed validation reach here, so a rejected request
   * never uses up its key.
   */
  private idempotent(key: string, url: URL, body: unknown, operation: CheckoutOperation, handle: () => Answer): Answer {
    if (key === "" || key.length > IDEMPOTENCY_KEY_MAX_LENGTH) return errorAnswer(idempotencyKeyTooLong());
    const headers = { "idempotency-key": key };
    const scope = idempotencyScope(this.deps.apiKey, url.pathname, key);
    if (this.scopesInProgress.has(scope)) {
      this.deps.logger.info({}, `${operation.method} ${url.pathname}: Idempotency-Key still in progress`);
      return errorAnswer(requestInProgress());
    }
    const fingerprint = requestFingerprint(url.search, body);
    const earlier = this.deps.ledger.idempotentResponse(scope);
    if (earlier !== undefined) {
      if (earlier.requestFingerprint !== fingerprint) return errorAnswer(idempotencyKeyReused());
      this.deps.logger.info({}, `${operation.method} ${url.pathname}: idempotent replay`);
      return { status: earlier.status, body: earlier.body, headers, checked: true };
    }
    const answer = this.validated(operation, handle());
    // A 5xx (here: a simulator bug) was not processed, so a retry with the same key must run again.
    if (answer.status < 500) {
      this.deps.ledger.rememberIdempotentResponse(scope, { requestFingerprint: fingerprint, status: answer.status, body: answer.body });
    }
    return { ...answer, headers, idempotencyScope: scope, checked: true };
  }

  /** Every answer is checked against the spec; one that fails is a simulator bug and becomes a loud 500. */
  private validated(operation: CheckoutOperation | undefined, answer: Answer): Answer {
    if (answer.checked) return answer;
    const problem =
      operation === undefined ? this.deps.spec.validateServiceError(answer.body) : operation.validateResponse(answer.status, answer.body);
    if (problem === undefined) return answer;
    this.deps.logger.error({}, `simulator BUG: response ${answer.status} does not match the Checkout spec: ${problem}`);
    return errorAnswer(internalError());
  }

  private send(response: ServerResponse, answer: Answer): void {
    sendJson(response, answer.status, answer.body, answer.headers);
  }
}
