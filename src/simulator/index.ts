/**
 * An offline Adyen Checkout v72 stand-in for KakaoPay: the Checkout calls the gateway makes, the hosted KakaoPay
 * page the shopper is redirected to, and the signed webhooks that follow. It shares no code with the gateway.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CheckoutApi } from "./checkout.js";
import { createControl, type SimulatorControl } from "./control.js";
import { FaultInjector } from "./faults.js";
import { HostedPaymentPage } from "./hosted-page.js";
import { PaymentLifecycle } from "./lifecycle.js";
import { resolveOptions, type SimulatorOptions } from "./options.js";
import { Scheduler } from "./scheduler.js";
import { RequestCounter, SimulatorRouter } from "./server.js";
import { checkoutApiSpec, webhooksSpec } from "./spec.js";
import { Ledger } from "./state.js";
import { WebhookSender } from "./webhooks.js";

export { ControlError, type NotificationItemInput, type PaymentSummary, type SimulatorControl, type SimulatorStats } from "./control.js";
export type { FaultMode, FaultSettings } from "./faults.js";
export type { SimulatorOptions } from "./options.js";
export type { NotificationItem, WebhookBehaviour, WebhookTarget } from "./webhooks.js";

export interface RunningSimulator {
  /** Base URL of the listener, e.g. http://127.0.0.1:40123 (Checkout under /v72). */
  url: string;
  /** The same operations as the HTTP control endpoint, in-process. */
  control: SimulatorControl;
  /** Stops timers, webhook deliveries in flight and the listener; safe to call more than once. */
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Starts the simulator on 127.0.0.1. Throws an Error naming the first invalid option. */
export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const resolved = resolveOptions(options);
  // Compiled before listening, so a broken spec fails the start rather than the first request.
  const spec = checkoutApiSpec();
  const webhookSpec = webhooksSpec();

  const server = createServer();
  const address = await listen(server, resolved.port);
  const url = `http://127.0.0.1:${address.port}`;

  const { logger, merchantAccount } = resolved;
  const scheduler = new Scheduler(logger);
  const ledger = new Ledger();
  const webhooks = new WebhookSender({
    target: resolved.webhook,
    retryScheduleMs: resolved.retryScheduleMs,
    scheduler,
    spec: webhookSpec,
    logger,
  });
  const lifecycle = new PaymentLifecycle({
    ledger,
    scheduler,
    webhooks,
    timings: { webhookDelayMs: resolved.webhookDelayMs, pendingDelayMs: resolved.pendingDelayMs, offerTtlMs: resolved.offerTtlMs },
    merchantAccount,
    logger,
  });
  const faults = new FaultInjector();
  const requests = new RequestCounter();
  const control = createControl({
    ledger,
    lifecycle,
    webhooks,
    faults,
    scheduler,
    merchantAccount,
    webhooksConfigured: resolved.webhook !== undefined,
    requestsByPath: () => requests.byPath(),
  });
  const router = new SimulatorRouter({
    apiKey: resolved.apiKey,
    spec,
    checkout: new CheckoutApi({ ledger, lifecycle, merchantAccount, publicUrl: resolved.publicUrl ?? url }),
    hostedPage: new HostedPaymentPage({ ledger, lifecycle, merchantAccount }),
    control,
    faults,
    ledger,
    requests,
    logger,
  });
  server.on("request", router.handle);
  logger.info({ url, merchantAccount }, `Adyen Checkout v72 simulator listening on ${url}`);

  let closing: Promise<void> | undefined;
  return {
    url,
    control,
    close() {
      closing ??= new Promise((resolve) => {
        scheduler.close();
        webhooks.close();
        router.close();
        server.close(() => resolve());
        // Ends keep-alive sockets and requests held by the "timeout" fault, which would otherwise keep close() waiting.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
