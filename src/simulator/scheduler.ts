import type { Logger } from "../payments/logger.js";

/**
 * The simulator's clock: every delayed action (webhook delays, retries, offer expiry) and every webhook delivery in
 * flight goes through here, so that close() can stop them all and idle() can tell when nothing is about to happen.
 */
export class Scheduler {
  private readonly timers = new Map<NodeJS.Timeout, number>(); // timer -> due time (ms since epoch)
  private readonly idleWaiters = new Set<{ horizonMs: number; resolve: () => void }>();
  private inFlight = 0;
  private closed = false;

  constructor(private readonly logger: Logger) {}

  /** Runs task after delayMs; returns a function that cancels it. Does nothing once closed. */
  schedule(delayMs: number, task: () => void): () => void {
    if (this.closed) return () => {};
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      try {
        task();
      } catch (error) {
        // A throwing task is a simulator bug (e.g. a webhook that fails its own schema): say so loudly.
        this.logger.error({ err: error }, "simulator BUG: scheduled task failed");
      }
      this.checkIdle();
    }, delayMs);
    this.timers.set(timer, Date.now() + delayMs);
    return () => {
      clearTimeout(timer);
      if (this.timers.delete(timer)) this.checkIdle();
    };
  }

  /** Counts work in flight (a webhook delivery) until it settles; work handles its own failures, so a rejection is a bug. */
  track(work: Promise<void>): void {
    this.inFlight += 1;
    void work
      .catch((error: unknown) => this.logger.error({ err: error }, "simulator BUG: tracked work failed"))
      .finally(() => {
        this.inFlight -= 1;
        this.checkIdle();
      });
  }

  /** Resolves once nothing is in flight and no timer is due within horizonMs. */
  idle(horizonMs: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter = { horizonMs, resolve };
      this.idleWaiters.add(waiter);
      this.checkIdle();
    });
  }

  /** Cancels every timer and releases idle() callers; work in flight is aborted by its owner. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers.keys()) clearTimeout(timer);
    this.timers.clear();
    for (const waiter of this.idleWaiters) waiter.resolve();
    this.idleWaiters.clear();
  }

  private checkIdle(): void {
    if (this.inFlight > 0 || this.idleWaiters.size === 0) return;
    const now = Date.now();
    const nextDue = Math.min(...this.timers.values());
    for (const waiter of this.idleWaiters) {
      if (nextDue > now + waiter.horizonMs) {
        this.idleWaiters.delete(waiter);
        waiter.resolve();
      }
    }
  }
}
