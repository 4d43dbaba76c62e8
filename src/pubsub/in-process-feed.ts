import type { PaymentId } from "../payments/ids.js";
import type { PaymentStatusChange } from "../payments/payment.js";
import type { StatusFeed, StatusSubscription } from "../payments/ports.js";

/** More unread changes than this on one subscription means the client stopped reading: it is closed. */
const MAX_BUFFERED = 1000;

/** Told when a payment gets its first listener and when its last one leaves (the Redis feed follows channels so). */
export interface ListenerHooks {
  watched(paymentId: PaymentId): void;
  unwatched(paymentId: PaymentId): void;
}

/**
 * StatusFeed within one process. Listeners are registered synchronously in `subscribe`, not on the first
 * read, so nothing published after `subscribe` returns can be missed.
 */
export class InProcessStatusFeed implements StatusFeed {
  private readonly listeners = new Map<PaymentId, Set<Listener>>();
  private open = 0;

  constructor(private readonly hooks: ListenerHooks | null = null) {}

  /** Subscriptions not closed yet: every path that ends one must close it, so this returns to 0. */
  get active(): number {
    return this.open;
  }

  publish(change: PaymentStatusChange): void {
    for (const listener of this.listeners.get(change.payment.id) ?? []) listener.push(change);
  }

  subscribe(paymentId: PaymentId): StatusSubscription {
    let listeners = this.listeners.get(paymentId);
    if (!listeners) {
      listeners = new Set<Listener>();
      this.listeners.set(paymentId, listeners);
      this.hooks?.watched(paymentId);
    }
    const own = listeners;
    const listener = new Listener(() => {
      this.open--;
      own.delete(listener);
      if (own.size === 0 && this.listeners.get(paymentId) === own) {
        this.listeners.delete(paymentId);
        this.hooks?.unwatched(paymentId);
      }
    });
    own.add(listener);
    this.open++;
    return listener;
  }
}

class Listener implements StatusSubscription {
  private readonly buffer: PaymentStatusChange[] = [];
  private waiting: ((result: IteratorResult<PaymentStatusChange>) => void) | null = null;
  private closed = false;

  constructor(private readonly onClose: () => void) {}

  push(change: PaymentStatusChange): void {
    if (this.closed) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: change, done: false });
    } else if (this.buffer.length >= MAX_BUFFERED) {
      this.close();
    } else {
      this.buffer.push(change);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    this.waiting?.({ value: undefined, done: true });
    this.waiting = null;
  }

  [Symbol.asyncIterator](): AsyncIterator<PaymentStatusChange> {
    return {
      next: () => {
        const next = this.buffer.shift();
        if (next) return Promise.resolve({ value: next, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiting = resolve));
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
