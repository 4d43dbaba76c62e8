import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { CachingProvider } from "./adyen/caching-provider.js";
import { AdyenCheckout } from "./adyen/checkout.js";
import { type Config, ConfigError, databaseServer } from "./config.js";
import { Authenticator, type GatewayContext } from "./graphql/context.js";
import { documentStore } from "./graphql/document-cache.js";
import { clientErrorFormatter } from "./graphql/errors.js";
import { jitExecution } from "./graphql/jit-executor.js";
import { GraphQLPipeline } from "./graphql/pipeline.js";
import { AdyenFieldsOnceRule, armorConfig, httpOperationGuard, PARSE_OPTIONS } from "./graphql/limits.js";
import { adyenRateLimit } from "./graphql/rate-limit.js";
import { buildGatewaySchema } from "./graphql/schema.js";
import { trackConnections } from "./http/connections.js";
import { graphqlRoute } from "./http/graphql-route.js";
import { limitConnections, serverOptions } from "./http/limits.js";
import { answerStarting, requestHandler } from "./http/server.js";
import { webhookRoute } from "./http/webhook-route.js";
import { serveSubscriptions } from "./http/websocket.js";
import { demoRoute } from "./demo/routes.js";
import { ClientSecrets } from "./payments/client-secret.js";
import { ReturnUrlPolicy } from "./payments/input.js";
import { RateLimiter } from "./payments/rate-limit.js";
import { Refunds } from "./payments/refunds.js";
import { StoredPaymentMethods } from "./payments/stored-payment-methods.js";
import { Payments } from "./payments/use-cases.js";
import { PaymentWebhooks, type WebhookSweepOptions } from "./payments/webhooks.js";
import { graphqlMetricsPlugin } from "./observability/graphql-metrics.js";
import { createLogger } from "./observability/logger.js";
import { GatewayMetrics } from "./observability/metrics.js";
import { serveMetrics } from "./observability/metrics-server.js";
import { ObservedStatusFeed } from "./observability/observed-feed.js";
import { requestScoped } from "./observability/request-log.js";
import { NO_TRACING, type Tracing } from "./observability/tracing.js";
import type { Logger } from "./payments/logger.js";
import { InProcessStatusFeed } from "./pubsub/in-process-feed.js";
import { RedisStatusFeed } from "./pubsub/redis-feed.js";
import { type RunningSimulator, startSimulator } from "./simulator/index.js";
import { openStores, type Stores } from "./store/index.js";

/** A running gateway: its URL, the simulator it started (simulator mode only), and a way to stop both. */
export interface Gateway {
  url: string;
  server: Server;
  simulator: RunningSimulator | null;
  metrics: GatewayMetrics;
  /** Where GET /metrics answers; null when METRICS_PORT is 0. */
  metricsUrl: string | null;
  /**
   * Stops accepting, lets requests in progress finish (cutting clients that stopped sending), then always drains the
   * webhook queue and closes the store. After `graceMs`, connections still open are cut.
   */
  close(graceMs?: number): Promise<void>;
}

/** How long a shutdown waits for requests in progress before cutting them: an orchestrator kills us soon after. */
export const SHUTDOWN_GRACE_MS = 15_000;

export const EXAMPLE_OPERATION = `mutation StartKakaoPayPayment {
  startKakaoPayPayment(input: {
    amount: { value: 12300, currency: "KRW" }
    reference: "order-1001"
    returnUrl: "http://127.0.0.1:4000/demo"
    channel: WEB
  }) {
    id status nextStep action
  }
}`;

/** How often the gateway looks for refunds Adyen has not answered yet, and the longest wait between two sends. */
const REFUND_RESEND_INTERVAL_MS = 1_000;
const MAX_REFUND_RESEND_BACKOFF_MS = 300_000;

/** Runs `task` every `intervalMs`, one pass at a time; `stop` waits for a pass in progress. */
function every(intervalMs: number, task: () => Promise<void>, logger: Logger): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = task()
      .catch((error: unknown) => logger.error({ err: error }, "background pass failed"))
      .finally(() => {
        running = null;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** Settings with defaults that tests shorten; not read from the environment. */
export interface GatewayTuning {
  webhookSweep?: Partial<WebhookSweepOptions>;
  /** PAYMENT_SESSION_LIFETIME_MS by default. */
  sessionLifetimeMs?: number;
  /** False: every /graphql request goes through Apollo, so tests can compare its answers with the fast path's. */
  httpFastPath?: boolean;
}

/** The composition root: the only place that wires store, Adyen, pubsub, use cases and HTTP. */
export async function startGateway(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
  tuning: GatewayTuning = {},
): Promise<Gateway> {
  // The database first: one that cannot be written stops the start before anything listens.
  const stores = await openDatabase(config.databaseUrl, tuning);
  let simulator: RunningSimulator | null = null;
  // Bound before the routes exist (the simulator must know where to send webhooks, and with PORT=0 nobody knows this
  // port before it is bound): until the gateway is ready, every request is answered 503.
  let serve: RequestListener = answerStarting;
  const server = createServer(serverOptions(config.limits), (request, response) => serve(request, response));
  const connections = trackConnections(server);
  try {
    await listen(server, config.port, config.host, "PORT");
    const { address, port } = server.address() as AddressInfo;
    // The URL the simulator posts webhooks to: loopback when we listen on every interface.
    const host = address === "0.0.0.0" || address === "::" ? "127.0.0.1" : address.includes(":") ? `[${address}]` : address;
    const url = `http://${host}:${port}`;
    if (config.simulator && !config.simulator.url) {
      const simulatorPort = config.simulator.port;
      simulator = await startSimulator({
        port: simulatorPort,
        apiKey: config.adyen.apiKey,
        merchantAccount: config.adyen.merchantAccount,
        webhook: {
          url: `${url}/webhooks/adyen`,
          hmacKeyHex: config.adyen.hmacKeys[0]!,
          username: config.adyen.webhookUsername,
          password: config.adyen.webhookPassword,
        },
        webhookDelayMs: config.simulator.webhookDelayMs,
        pendingDelayMs: config.simulator.pendingDelayMs,
        offerTtlMs: config.simulator.offerTtlMs,
        logger: logger.child({ component: "simulator" }),
      }).catch((error: unknown) => {
        throw portProblem(error, "SIMULATOR_PORT", simulatorPort, "127.0.0.1");
      });
    }
    return await serveGateway(config, logger, tuning, {
      stores,
      server,
      url,
      simulator,
      connections,
      ready: (listener) => (serve = listener),
    });
  } catch (error) {
    // Nothing half-started is left behind: the port, the simulator and the database are released.
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await simulator?.close();
    await stores.close();
    throw error;
  }
}

interface Started {
  stores: Stores;
  server: Server;
  url: string;
  simulator: RunningSimulator | null;
  connections: ReturnType<typeof trackConnections>;
  /** Installs the routes in place of the start-up 503. */
  ready: (listener: RequestListener) => void;
}

async function serveGateway(
  config: Config,
  logger: Logger,
  tuning: GatewayTuning,
  { stores: opened, server, url, simulator, connections, ready }: Started,
): Promise<Gateway> {
  // Imported only when tracing is on: with it off, no OpenTelemetry module is loaded (docs/contract.md, Environment).
  const tracing: Tracing = config.tracing ? new (await import("./observability/otel-tracing.js")).OtelTracing() : NO_TRACING;
  // Each store call is one transaction: with tracing on, one span each.
  const stores = {
    payments: tracing.wrap(opened.payments, "db.payments"),
    refunds: tracing.wrap(opened.refunds, "db.refunds"),
    inbox: tracing.wrap(opened.inbox, "db.inbox"),
    storedPaymentMethods: tracing.wrap(opened.storedPaymentMethods, "db.storedPaymentMethods"),
  };
  // With REDIS_URL, changes committed by any instance reach this one's subscribers (docs/contract.md).
  const redisFeed = config.redisUrl
    ? await RedisStatusFeed.connect(config.redisUrl, stores.payments, logger.child({ component: "redis" }))
    : null;
  const liveFeed = redisFeed ?? new InProcessStatusFeed();
  const metrics = new GatewayMetrics(() => stores.inbox.countUnapplied());
  metrics.countSubscriptions(() => liveFeed.active);
  // The domain's lines carry the requestId of the request that caused them (none for background work).
  const domainLogger = requestScoped(logger);
  const feed = new ObservedStatusFeed(liveFeed, metrics, domainLogger);
  const webhooks = tracing.wrap(
    new PaymentWebhooks({
      store: stores.payments,
      tokens: stores.storedPaymentMethods,
      refunds: stores.refunds,
      inbox: stores.inbox,
      events: feed,
      merchantAccount: config.adyen.merchantAccount,
      telemetry: metrics,
      logger: domainLogger,
      sweep: tuning.webhookSweep,
    }),
    "webhooks",
  );
  const checkout = new AdyenCheckout({
    environment: config.adyen.environment,
    apiKey: config.adyen.apiKey,
    merchantAccount: config.adyen.merchantAccount,
    liveUrlPrefix: config.adyen.liveUrlPrefix,
    timeoutMs: config.adyen.timeoutMs,
    simulatorUrl: config.simulator?.url ?? simulator?.url,
    observe: (operation, outcome, seconds) => metrics.adyenRequest(operation, outcome, seconds),
    tracing,
    logger: requestScoped(logger, { component: "adyen" }),
  });
  const provider = new CachingProvider(checkout, {
    paymentMethodsTtlMs: config.limits.paymentMethodsCacheMs,
    storedMethodsIntervalMs: config.limits.storedMethodsLookupIntervalMs,
  });
  const clientSecrets = new ClientSecrets(config.clientSecretKeys);
  const payments = new Payments({
    store: stores.payments,
    tokens: stores.storedPaymentMethods,
    provider,
    events: feed,
    returnUrls: new ReturnUrlPolicy(config.returnUrlAllowlist),
    clientSecrets,
    webhooks,
  });
  const storedPaymentMethods = new StoredPaymentMethods({
    store: stores.payments,
    tokens: stores.storedPaymentMethods,
    provider,
    logger: domainLogger,
  });
  const refunds = new Refunds({
    store: stores.payments,
    refunds: stores.refunds,
    provider,
    events: feed,
    webhooks,
    logger: domainLogger,
    resendAfterMs: config.adyen.timeoutMs,
    maxResendBackoffMs: MAX_REFUND_RESEND_BACKOFF_MS,
  });
  const resender = every(REFUND_RESEND_INTERVAL_MS, () => refunds.resendDue(), logger);
  const authenticator = new Authenticator(config.apiKeys, clientSecrets);
  const keyAdvice = config.devApiKeyFile
    ? `in simulator mode: the dev key printed at start, also in ${config.devApiKeyFile}`
    : "see GATEWAY_API_KEYS";
  const authHint = `send Authorization: Bearer <api key> (${keyAdvice}), or a payment's client secret`;

  const schema = await buildGatewaySchema(feed);
  const armor = new ApolloArmor(armorConfig()).protect();
  const pipeline = new GraphQLPipeline(schema, { production: config.production });
  // Apollo calls it within the request: its internal errors are logged under the request's requestId.
  const formatError = clientErrorFormatter({ production: config.production, logger: domainLogger });
  const adyenLimiter = new RateLimiter(config.limits.adyenOperationsPerMinute);
  const apollo = new ApolloServer<GatewayContext>({
    gateway: jitExecution(schema, pipeline),
    // Apollo's default store sizes a document by its JSON, which leaves out the (comment-padded) text it keeps.
    documentStore: documentStore(),
    formatError,
    parseOptions: PARSE_OPTIONS,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    // main.ts owns the signals: Apollo's own handler would re-raise SIGTERM before requests drain.
    stopOnTerminationSignals: false,
    csrfPrevention: true,
    // Apollo's own warnings become JSON lines like every other (docs/contract.md, Operations).
    logger: {
      debug: (message: unknown) => logger.debug({ component: "apollo" }, String(message)),
      info: (message: unknown) => logger.info({ component: "apollo" }, String(message)),
      warn: (message: unknown) => logger.warn({ component: "apollo" }, String(message)),
      error: (message: unknown) => logger.error({ component: "apollo" }, String(message)),
    },
    introspection: !config.production,
    validationRules: [...armor.validationRules, AdyenFieldsOnceRule],
    plugins: [
      // graphql-armor is typed against Apollo's CommonJS build; the plugins are the same objects.
      ...(armor.plugins as unknown as ApolloServerPlugin<GatewayContext>[]),
      httpOperationGuard<GatewayContext>(),
      adyenRateLimit(adyenLimiter),
      ApolloServerPluginCacheControlDisabled(),
      graphqlMetricsPlugin(metrics, tracing),
      config.production
        ? ApolloServerPluginLandingPageDisabled()
        : ApolloServerPluginLandingPageLocalDefault({
            embed: true,
            document: EXAMPLE_OPERATION,
            headers: { Authorization: "Bearer <your API key>" },
          }),
    ],
  });
  await apollo.start();

  ready(
    requestHandler({
      graphql: graphqlRoute({
        apollo,
        tracing,
        context: (request) => ({
          principal: authenticator.authenticate(request.headers.authorization),
          authHint,
          payments,
          storedPaymentMethods,
          refunds,
        }),
        authenticated: (request) => authenticator.authenticate(request.headers.authorization) !== null,
        fastPath: tuning.httpFastPath === false ? undefined : { pipeline, formatError, metrics, limiter: adyenLimiter },
      }),
      webhook: webhookRoute({
        webhooks,
        username: config.adyen.webhookUsername,
        password: config.adyen.webhookPassword,
        hmacKeys: config.adyen.hmacKeys,
        metrics,
      }),
      // The demo checkout exists in simulator mode only; its server part uses the first API key (the dev key).
      demo: config.simulator ? demoRoute({ gatewayUrl: url, apiKey: [...config.apiKeys.keys()][0]! }) : undefined,
      ready: async () => {
        await stores.payments.ping();
        await redisFeed?.ping();
        return true;
      },
      logger,
      tracing,
      admit: limitConnections(server, config.limits),
    }),
  );
  const subscriptions = serveSubscriptions(server, {
    schema,
    production: config.production,
    payments,
    storedPaymentMethods,
    refunds,
    authenticate: (authorization) => authenticator.authenticate(authorization),
    authHint,
    logger,
    metrics,
    isLive: (change) => feed.isLive(change),
    limits: config.limits,
  });
  server.on("upgrade", (_request, socket) => connections.release(socket as Socket));
  // Items acknowledged before a crash but not applied are applied now, then the sweep retries what still fails.
  await webhooks.startSweeping();
  const metricsListener =
    config.metricsPort === null ? null : await serveMetrics(metrics.registry, config.host, config.metricsPort, logger);

  return {
    url,
    server,
    simulator,
    metrics,
    metricsUrl: metricsListener?.url ?? null,
    async close(graceMs = SHUTDOWN_GRACE_MS) {
      // A scraper keeps its connection open: /metrics goes first, at once (a scrape would read a closed store).
      metricsListener?.server.close();
      metricsListener?.server.closeAllConnections();
      const failures: unknown[] = [];
      // Each step runs even when one before it failed: the webhook queue and the store are always drained and closed.
      const step = async (run: () => Promise<void> | undefined) => {
        try {
          await run();
        } catch (error) {
          failures.push(error);
        }
      };
      await step(() => subscriptions.close());
      await step(() => connections.close(graceMs));
      await step(() => resender.stop());
      await step(() => webhooks.stop());
      await step(() => webhooks.idle());
      await step(async () => checkout.close());
      await step(() => simulator?.close());
      await step(() => apollo.stop());
      await step(async () => redisFeed?.close());
      await step(() => opened.close());
      if (failures.length > 0) throw failures[0];
    },
  };
}

/** Opens the database; one that cannot be opened for writing is a configuration problem named in one line. */
async function openDatabase(databaseUrl: string, tuning: GatewayTuning): Promise<Stores> {
  try {
    return await openStores(databaseUrl, { sessionLifetimeMs: tuning.sessionLifetimeMs });
  } catch (error) {
    if (!databaseUrl.startsWith("file:")) {
      // One line naming the variable and the server, never the URL itself: it may carry the password.
      const reason = error instanceof Error ? error.message : String(error);
      throw new ConfigError("DATABASE_URL", `cannot open the database at ${databaseServer(databaseUrl)}: ${reason}`);
    }
    const code = (error as { code?: unknown }).code;
    // SQLite's message says what is wrong with the file; a system error's code says it without echoing the path.
    const reason =
      typeof code === "string" && code.startsWith("SQLITE_")
        ? `${(error as Error).message} (${code})`
        : typeof code === "string"
          ? code
          : error instanceof Error
            ? error.name
            : "unknown error";
    throw new ConfigError("DATABASE_URL", `cannot be opened for writing: ${reason}`);
  }
}

async function listen(server: Server, port: number, host: string, variable: string): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    throw portProblem(error, variable, port, host);
  }
}

/** A port we cannot listen on, as one line naming the variable to change; any other error as it is. */
function portProblem(error: unknown, variable: string, port: number, host: string): unknown {
  const code = (error as { code?: unknown }).code;
  if (code === "EADDRINUSE") return new ConfigError(variable, `${port} is already in use on ${host}: set ${variable} to a free port`);
  if (code === "EACCES") return new ConfigError(variable, `${port} needs privileges on ${host}: set ${variable} to a port above 1023`);
  if (code === "EADDRNOTAVAIL") return new ConfigError("HOST", `${host} is not an address of this machine`);
  return error;
}
