import { Redis } from "ioredis";
import type { PaymentId } from "../payments/ids.js";
import { isVisible, type PaymentStatusChange } from "../payments/payment.js";
import type { PaymentStore, StatusFeed, StatusSubscription } from "../payments/ports.js";
import { InProcessStatusFeed } from "./in-process-feed.js";

/** What a message on a payment's channel says: "this payment reached this version; look in the store". */
interface Doorbell {
  paymentId: string;
  version: number;
}

/** A payment this process has listeners for: the last version handed to them, and the store read in progress. */
interface Topic {
  last: number;
  reading: boolean;
  /** A doorbell rang while reading: read again when done. */
  again: boolean;
}

const CHANNEL_PREFIX = "kakaopay:payment-status:";
/** A Redis that does not answer a PING within this is "not ready". */
const PING_TIMEOUT_MS = 1_000;
/** At most one log line per this interval for a Redis that keeps failing. */
const LOG_INTERVAL_MS = 10_000;
/** A store read that failed (database briefly away) is tried again after this. */
const RETRY_READ_MS = 1_000;

/** Redis could not be used at start; the message names REDIS_URL and never contains its password. */
export class RedisStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RedisStartError";
  }
}

/**
 * StatusFeed across processes (docs/stack.md pitfall 18): Redis pub/sub loses what is published while a
 * connection is down, so a message is only a doorbell {paymentId, version}, and each process reads the events
 * themselves from the store, the truth. Each payment keeps the last version handed to its local listeners: a
 * doorbell above it, a reconnect, or a fresh channel subscription reads what follows it, so nothing is missed and
 * nothing is handed twice. Changes committed in this process reach its own listeners without the round trip.
 */
export class RedisStatusFeed implements StatusFeed {
  private readonly local = new InProcessStatusFeed({
    watched: (paymentId) => this.watch(paymentId),
    unwatched: (paymentId) => this.unwatch(paymentId),
  });
  private readonly topics = new Map<PaymentId, Topic>();
  /** Doorbells that failed to ring, by payment: the latest version. */
  private readonly unrung = new Map<PaymentId, number>();
  private lastLogged = new Map<string, number>();
  private closing = false;

  private constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly store: Pick<PaymentStore, "listEvents" | "getPayment">,
    private readonly log: (line: string) => void,
  ) {
    subscriber.on("message", (channel: string, message: string) => this.onMessage(channel, message));
    // The first "ready" happened in connect(); every later one follows a lost connection.
    subscriber.on("ready", () => void this.resubscribe());
    publisher.on("ready", () => this.ringUnrung());
    for (const [name, client] of [
      ["publisher", publisher],
      ["subscriber", subscriber],
    ] as const) {
      client.on("error", (error: Error) => this.logRarely(`redis-${name}`, `Redis ${name} connection: ${describeRedisError(error)}`));
    }
  }

  /** Connects both connections (one publishes and pings, one only listens), or throws RedisStartError. */
  static async connect(
    url: string,
    store: Pick<PaymentStore, "listEvents" | "getPayment">,
    log: (line: string) => void,
  ): Promise<RedisStatusFeed> {
    // No offline queue: a publish while Redis is down fails at once instead of piling up (readers re-read anyway);
    // we subscribe again ourselves on reconnect, after which we re-read, so nothing falls between the two.
    const options = { lazyConnect: true, enableOfflineQueue: false, autoResubscribe: false };
    const publisher = new Redis(url, { ...options, connectionName: "gateway-publisher" });
    const subscriber = new Redis(url, { ...options, connectionName: "gateway-subscriber" });
    // Until connect() settles, a failure is reported by it; the error event says why (connect() only says "closed").
    let cause: unknown = null;
    const quiet = (error: unknown) => {
      cause ??= error;
    };
    publisher.on("error", quiet);
    subscriber.on("error", quiet);
    try {
      await Promise.all([connectOnce(publisher), connectOnce(subscriber)]);
    } catch (error) {
      publisher.disconnect();
      subscriber.disconnect();
      const why = describeRedisError(cause ?? error);
      throw new RedisStartError(scrubbed(`REDIS_URL names a Redis that did not answer at start (${why})`, url));
    } finally {
      publisher.off("error", quiet);
      subscriber.off("error", quiet);
    }
    return new RedisStatusFeed(publisher, subscriber, store, (line) => log(scrubbed(line, url)));
  }

  /** Subscriptions not closed yet (the gauge gateway_subscriptions_active). */
  get active(): number {
    return this.local.active;
  }

  subscribe(paymentId: PaymentId): StatusSubscription {
    return this.local.subscribe(paymentId);
  }

  /** Never throws: the change is committed; a doorbell that cannot be rung now is rung once Redis is back. */
  publish(change: PaymentStatusChange): void {
    this.handLocally(change);
    this.ring(change.payment.id, change.event.version);
  }

  /** Resolves when Redis answers a PING in time on both connections: without the subscriber, doorbells go unheard. */
  async ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("Redis PING timed out")), PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([Promise.all([this.publisher.ping(), this.subscriber.ping()]), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([this.publisher.quit(), this.subscriber.quit()]);
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }

  private ring(paymentId: PaymentId, version: number): void {
    const doorbell: Doorbell = { paymentId, version };
    this.publisher.publish(CHANNEL_PREFIX + paymentId, JSON.stringify(doorbell)).then(
      () => {
        if ((this.unrung.get(paymentId) ?? Number.POSITIVE_INFINITY) <= version) this.unrung.delete(paymentId);
      },
      (error: unknown) => {
        // Instances whose own connection stayed up would otherwise hear of it only at the payment's next change.
        this.unrung.set(paymentId, Math.max(version, this.unrung.get(paymentId) ?? 0));
        this.logRarely("redis-publish", `Redis publish failed, rung again once Redis is back: ${describeRedisError(error)}`);
      },
    );
  }

  /** The publisher is back: ring every doorbell that failed meanwhile (the latest version of each payment). */
  private ringUnrung(): void {
    const pending = [...this.unrung];
    this.unrung.clear();
    for (const [paymentId, version] of pending) this.ring(paymentId, version);
  }

  private handLocally(change: PaymentStatusChange): void {
    const topic = this.topics.get(change.payment.id);
    if (!topic || change.event.version <= topic.last) return;
    if (change.event.version === topic.last + 1) {
      topic.last = change.event.version;
      this.local.publish(change);
    } else {
      void this.readFromStore(change.payment.id);
    }
  }

  private onMessage(channel: string, message: string): void {
    if (!channel.startsWith(CHANNEL_PREFIX)) return;
    let doorbell: Doorbell;
    try {
      doorbell = JSON.parse(message) as Doorbell;
    } catch {
      return;
    }
    const paymentId = channel.slice(CHANNEL_PREFIX.length) as PaymentId;
    const topic = this.topics.get(paymentId);
    // A doorbell that is not a version number still means "look".
    if (topic && !(typeof doorbell.version === "number" && doorbell.version <= topic.last)) void this.readFromStore(paymentId);
  }

  private watch(paymentId: PaymentId): void {
    // From version 0: whatever this listener's caller already read, it drops by version (no duplicate).
    this.topics.set(paymentId, { last: 0, reading: false, again: false });
    // Only once Redis confirms the subscription is every later change rung; what came before is read now.
    if (this.subscriber.status === "ready") {
      this.subscriber.subscribe(CHANNEL_PREFIX + paymentId).then(
        () => this.readFromStore(paymentId),
        () => {}, // The connection dropped: resubscribe() does it on "ready".
      );
    }
  }

  private unwatch(paymentId: PaymentId): void {
    this.topics.delete(paymentId);
    if (this.subscriber.status === "ready") this.subscriber.unsubscribe(CHANNEL_PREFIX + paymentId).catch(() => {});
  }

  /** After a reconnect: subscribe to every watched payment again, then read what was published meanwhile. */
  private async resubscribe(): Promise<void> {
    if (this.closing) return;
    this.log("Redis subscriber connection is back: re-reading every watched payment from the store");
    const ids = [...this.topics.keys()];
    try {
      if (ids.length > 0) await this.subscriber.subscribe(...ids.map((id) => CHANNEL_PREFIX + id));
    } catch {
      return; // Lost again: the next "ready" does it.
    }
    for (const id of ids) void this.readFromStore(id);
  }

  /** Hands the payment's events after its topic's last version to its listeners, one read at a time per payment. */
  private async readFromStore(paymentId: PaymentId): Promise<void> {
    const topic = this.topics.get(paymentId);
    if (!topic) return;
    if (topic.reading) {
      topic.again = true;
      return;
    }
    topic.reading = true;
    try {
      do {
        topic.again = false;
        const events = (await this.store.listEvents(paymentId, topic.last)).filter((event) => event.version > topic.last);
        if (events.length === 0) continue;
        // Read after the events, so it is at least as new as each of them.
        const payment = await this.store.getPayment(paymentId);
        if (!payment || !isVisible(payment)) continue;
        for (const event of events) {
          // A change handed locally meanwhile moved `last` on: never hand one twice or out of order.
          if (event.version !== topic.last + 1) continue;
          topic.last = event.version;
          if (this.topics.get(paymentId) === topic) this.local.publish({ payment, event });
        }
      } while (topic.again);
    } catch (error) {
      this.logRarely("redis-read", `reading payment events after a Redis doorbell failed: ${describeRedisError(error)}`);
      setTimeout(() => void this.readFromStore(paymentId), RETRY_READ_MS).unref();
    } finally {
      topic.reading = false;
    }
  }

  private logRarely(kind: string, line: string): void {
    const now = Date.now();
    if (now - (this.lastLogged.get(kind) ?? Number.NEGATIVE_INFINITY) < LOG_INTERVAL_MS) return;
    this.lastLogged.set(kind, now);
    this.log(line);
  }
}

/** Resolves on the first "ready", rejects on the first failure: no retrying at start. */
function connectOnce(client: Redis): Promise<void> {
  const retry = client.options.retryStrategy;
  client.options.retryStrategy = () => null;
  return client.connect().finally(() => {
    client.options.retryStrategy = retry;
  });
}

function describeRedisError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The line without the URL's password, should a library ever echo it. */
function scrubbed(line: string, url: string): string {
  const password = URL.canParse(url) ? decodeURIComponent(new URL(url).password) : "";
  return password ? line.split(password).join("***") : line;
}
