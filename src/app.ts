import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { AdyenCheckout } from "./adyen/checkout.js";
import type { Config } from "./config.js";
import { ApiKeyAuthenticator, type GatewayContext } from "./graphql/context.js";
import { formatError } from "./graphql/errors.js";
import { jitExecution } from "./graphql/jit-executor.js";
import { armorConfig } from "./graphql/limits.js";
import { buildGatewaySchema } from "./graphql/schema.js";
import { graphqlRoute } from "./http/graphql-route.js";
import { handleRequests } from "./http/server.js";
import { webhookRoute } from "./http/webhook-route.js";
import { serveSubscriptions } from "./http/websocket.js";
import { ReturnUrlPolicy } from "./payments/input.js";
import { StoredPaymentMethods } from "./payments/stored-payment-methods.js";
import { Refunds } from "./payments/refunds.js";
import { Payments } from "./payments/use-cases.js";
import { PaymentWebhooks } from "./payments/webhooks.js";
import { graphqlMetricsPlugin } from "./observability/graphql-metrics.js";
import { createLogger } from "./observability/logger.js";
import { GatewayMetrics } from "./observability/metrics.js";
import { serveMetrics } from "./observability/metrics-server.js";
import { ObservedStatusFeed } from "./observability/observed-feed.js";
import { NO_TRACING, type Tracing } from "./observability/tracing.js";
import type { Logger } from "./payments/logger.js";
import { InProcessStatusFeed } from "./pubsub/in-process-feed.js";
import { type RunningSimulator, startSimulator } from "./simulator/index.js";
import { openStores } from "./store/index.js";

/** A running gateway: its URL, the simulator it started (simulator mode only), and a way to stop both. */
export interface Gateway {
  url: string;
  server: Server;
  simulator: RunningSimulator | null;
  metrics: GatewayMetrics;
  /** Where GET /metrics answers; null when METRICS_PORT is 0. */
  metricsUrl: string | null;
  close(): Promise<void>;
}

export const EXAMPLE_OPERATION = `mutation StartKakaoPayPayment {
  startKakaoPayPayment(input: {
    amount: { value: 12300, currency: "KRW" }
    reference: "order-1001"
    returnUrl: "http://localhost:3000/checkout/return"
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

/** The composition root: the only place that wires store, Adyen, pubsub, use cases and HTTP. */
export async function startGateway(config: Config, logger: Logger = createLogger(config.logLevel), tracing?: Tracing): Promise<Gateway> {
  // Imported only when tracing is on: with it off, no OpenTelemetry module is loaded (docs/contract.md, Environment).
  tracing ??= config.tracing ? new (await import("./observability/otel-tracing.js")).OtelTracing() : NO_TRACING;
  // Bind first: the simulator must know where to send webhooks, and nobody knows this port until we return.
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  // The URL the simulator posts webhooks to: loopback when we listen on every interface.
  const host = address === "0.0.0.0" || address === "::" ? "127.0.0.1" : address.includes(":") ? `[${address}]` : address;
  const url = `http://${host}:${port}`;

  let simulator: RunningSimulator | null = null;
  if (config.simulator && !config.simulator.url) {
    simulator = await startSimulator({
      port: config.simulator.port,
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
    });
  }

  const opened = openStores(config.databaseUrl);
  // Each store call is one transaction: with tracing on, one span each.
  const stores = {
    payments: tracing.wrap(opened.payments, "db.payments"),
    refunds: tracing.wrap(opened.refunds, "db.refunds"),
    inbox: tracing.wrap(opened.inbox, "db.inbox"),
    storedPaymentMethods: tracing.wrap(opened.storedPaymentMethods, "db.storedPaymentMethods"),
    close: () => opened.close(),
  };
  const metrics = new GatewayMetrics(() => stores.inbox.countUnapplied());
  const liveFeed = new InProcessStatusFeed();
  const feed = new ObservedStatusFeed(liveFeed, metrics, logger);
  const webhooks = tracing.wrap(
    new PaymentWebhooks({
      store: stores.payments,
      tokens: stores.storedPaymentMethods,
      refunds: stores.refunds,
      inbox: stores.inbox,
      events: feed,
      merchantAccount: config.adyen.merchantAccount,
      telemetry: metrics,
      logger,
    }),
    "webhooks",
  );
  const provider = new AdyenCheckout({
    environment: config.adyen.environment,
    apiKey: config.adyen.apiKey,
    merchantAccount: config.adyen.merchantAccount,
    liveUrlPrefix: config.adyen.liveUrlPrefix,
    timeoutMs: config.adyen.timeoutMs,
    simulatorUrl: config.simulator?.url ?? simulator?.url,
    observe: (operation, outcome, seconds) => metrics.adyenRequest(operation, outcome, seconds),
    tracing,
  });
  const payments = new Payments({
    store: stores.payments,
    tokens: stores.storedPaymentMethods,
    provider,
    events: feed,
    returnUrls: new ReturnUrlPolicy(config.returnUrlAllowlist),
    webhooks,
  });
  const storedPaymentMethods = new StoredPaymentMethods({
    store: stores.payments,
    tokens: stores.storedPaymentMethods,
    provider,
    logger,
  });
  const refunds = new Refunds({
    store: stores.payments,
    refunds: stores.refunds,
    provider,
    events: feed,
    webhooks,
    logger,
    resendAfterMs: config.adyen.timeoutMs,
    maxResendBackoffMs: MAX_REFUND_RESEND_BACKOFF_MS,
  });
  const resender = every(REFUND_RESEND_INTERVAL_MS, () => refunds.resendDue(), logger);
  const authenticator = new ApiKeyAuthenticator(config.apiKeys);

  const schema = await buildGatewaySchema(feed);
  const armor = new ApolloArmor(armorConfig()).protect();
  const apollo = new ApolloServer<GatewayContext>({
    gateway: jitExecution(schema),
    formatError,
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
    hideSchemaDetailsFromClientErrors: config.production,
    validationRules: armor.validationRules,
    plugins: [
      // graphql-armor is typed against Apollo's CommonJS build; the plugins are the same objects.
      ...(armor.plugins as unknown as ApolloServerPlugin<GatewayContext>[]),
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

  handleRequests(server, {
    graphql: graphqlRoute(apollo, tracing, (request, log) => ({
      owner: authenticator.authenticate(request.headers.authorization),
      payments,
      storedPaymentMethods,
      refunds,
      log,
    })),
    webhook: webhookRoute({
      webhooks,
      username: config.adyen.webhookUsername,
      password: config.adyen.webhookPassword,
      hmacKeys: config.adyen.hmacKeys,
      metrics,
    }),
    ready: async () => {
      await stores.payments.ping();
      return true;
    },
    logger,
    tracing,
  });
  const subscriptions = serveSubscriptions(server, {
    schema,
    production: config.production,
    payments,
    storedPaymentMethods,
    refunds,
    authenticate: (authorization) => authenticator.authenticate(authorization),
    logger,
    metrics,
    isLive: (change) => feed.isLive(change),
  });
  // Items acknowledged before a crash but not applied: apply them now.
  await webhooks.applyUnapplied();
  const metricsListener =
    config.metricsPort === null ? null : await serveMetrics(metrics.registry, config.host, config.metricsPort, logger);

  return {
    url,
    server,
    simulator,
    metrics,
    metricsUrl: metricsListener?.url ?? null,
    async close() {
      // A scraper keeps its connection open: /metrics goes first, at once (a scrape would read a closed store).
      metricsListener?.server.close();
      metricsListener?.server.closeAllConnections();
      // Stop accepting, let in-flight requests finish, then release what they used.
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      // A connection whose request finishes during shutdown would otherwise idle until keep-alive times out.
      const reaper = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      await subscriptions.close();
      await drained;
      await resender.stop();
      clearInterval(reaper);
      await webhooks.idle();
      await simulator?.close();
      await apollo.stop();
      await stores.close();
    },
  };
}
