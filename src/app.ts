import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { AdyenCheckout } from "./adyen/checkout.js";
import { type Config, ConfigError, databaseServer } from "./config.js";
import { ApiKeyAuthenticator, type GatewayContext } from "./graphql/context.js";
import { clientErrorFormatter } from "./graphql/errors.js";
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
import { PaymentWebhooks, type WebhookSweepOptions } from "./payments/webhooks.js";
import { GatewayMetrics } from "./observability/metrics.js";
import { InProcessStatusFeed } from "./pubsub/in-process-feed.js";
import { type RunningSimulator, startSimulator } from "./simulator/index.js";
import { openStores } from "./store/index.js";

/** A running gateway: its URL, the simulator it started (simulator mode only), and a way to stop both. */
export interface Gateway {
  url: string;
  server: Server;
  simulator: RunningSimulator | null;
  metrics: GatewayMetrics;
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
function every(intervalMs: number, task: () => Promise<void>, log: (line: string) => void): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = task()
      .catch((error: unknown) => log(`background pass failed: ${error instanceof Error ? error.stack : String(error)}`))
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
}

/** The composition root: the only place that wires store, Adyen, pubsub, use cases and HTTP. */
export async function startGateway(
  config: Config,
  log: (line: string) => void = console.log,
  tuning: GatewayTuning = {},
): Promise<Gateway> {
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
      log,
    });
  }

  const stores = await openStores(config.databaseUrl, { sessionLifetimeMs: tuning.sessionLifetimeMs }).catch((error: unknown) => {
    // One line naming the variable and the server, never the URL itself: it may carry the password.
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError("DATABASE_URL", `cannot open the database at ${databaseServer(config.databaseUrl)}: ${reason}`);
  });
  const feed = new InProcessStatusFeed();
  const metrics = new GatewayMetrics();
  metrics.countSubscriptions(() => feed.active);
  const webhooks = new PaymentWebhooks({
    store: stores.payments,
    tokens: stores.storedPaymentMethods,
    refunds: stores.refunds,
    inbox: stores.inbox,
    events: feed,
    merchantAccount: config.adyen.merchantAccount,
    telemetry: metrics,
    log,
    sweep: tuning.webhookSweep,
  });
  const provider = new AdyenCheckout({
    environment: config.adyen.environment,
    apiKey: config.adyen.apiKey,
    merchantAccount: config.adyen.merchantAccount,
    liveUrlPrefix: config.adyen.liveUrlPrefix,
    timeoutMs: config.adyen.timeoutMs,
    simulatorUrl: config.simulator?.url ?? simulator?.url,
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
    log,
  });
  const refunds = new Refunds({
    store: stores.payments,
    refunds: stores.refunds,
    provider,
    events: feed,
    webhooks,
    log,
    resendAfterMs: config.adyen.timeoutMs,
    maxResendBackoffMs: MAX_REFUND_RESEND_BACKOFF_MS,
  });
  const resender = every(REFUND_RESEND_INTERVAL_MS, () => refunds.resendDue(), log);
  const authenticator = new ApiKeyAuthenticator(config.apiKeys);

  const schema = await buildGatewaySchema(feed);
  const armor = new ApolloArmor(armorConfig()).protect();
  const apollo = new ApolloServer<GatewayContext>({
    gateway: jitExecution(schema),
    formatError: clientErrorFormatter({ production: config.production }),
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    // main.ts owns the signals: Apollo's own handler would re-raise SIGTERM before requests drain.
    stopOnTerminationSignals: false,
    csrfPrevention: true,
    introspection: !config.production,
    validationRules: armor.validationRules,
    plugins: [
      // graphql-armor is typed against Apollo's CommonJS build; the plugins are the same objects.
      ...(armor.plugins as unknown as ApolloServerPlugin<GatewayContext>[]),
      ApolloServerPluginCacheControlDisabled(),
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
    graphql: graphqlRoute(apollo, (request) => ({
      owner: authenticator.authenticate(request.headers.authorization),
      payments,
      storedPaymentMethods,
      refunds,
    })),
    webhook: webhookRoute({
      webhooks,
      username: config.adyen.webhookUsername,
      password: config.adyen.webhookPassword,
      hmacKeys: config.adyen.hmacKeys,
      log,
    }),
    ready: async () => {
      await stores.payments.ping();
      return true;
    },
    log,
  });
  const subscriptions = serveSubscriptions(server, {
    schema,
    production: config.production,
    payments,
    storedPaymentMethods,
    refunds,
    authenticate: (authorization) => authenticator.authenticate(authorization),
  });
  // Items acknowledged before a crash but not applied are applied now, then the sweep retries what still fails.
  await webhooks.startSweeping();

  return {
    url,
    server,
    simulator,
    metrics,
    async close() {
      // Stop accepting, let in-flight requests finish, then release what they used.
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      // A connection whose request finishes during shutdown would otherwise idle until keep-alive times out.
      const reaper = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      await subscriptions.close();
      await drained;
      await resender.stop();
      clearInterval(reaper);
      await webhooks.stop();
      await webhooks.idle();
      await simulator?.close();
      await apollo.stop();
      await stores.close();
    },
  };
}
