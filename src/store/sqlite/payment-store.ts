import type { Statement } from "better-sqlite3";
import { recordedOf, toEvent, toPayment } from "../rows.js";
import { and, eq, gte, isNull, lt, sql } from "drizzle-orm";
import type { ApiKeyName, PaymentId, PspReference } from "../../payments/ids.js";
import type { Payment, PaymentEvent } from "../../payments/payment.js";
import type {
  CreatePaymentResult,
  HeldLease,
  IdempotencyClaim,
  IdempotencyRecord,
  IdempotencyState,
  NewLease,
  NewPayment,
  NotificationTarget,
  PaymentStore,
  ProviderFacts,
  ReceivedSignal,
  RecordedSignal,
} from "../../payments/ports.js";
import { type Notification, NotificationOutcome } from "../../payments/notification.js";
import { applyPaymentSignal, type PaymentUpdate } from "../../payments/apply-signal.js";
import type { PaymentSignal } from "../../payments/transitions.js";
import { probeWrite, type SqliteDatabase, setPlaceholder } from "./database.js";
import type { GroupCommit } from "./group-commit.js";
import { InboxInserts } from "./notification-inbox.js";
import { prepareRowReads } from "./raw-read.js";
import { idempotencyKeys, notificationInbox, payments } from "./schema.js";

/**
 * PaymentStore on SQLite. Writes go through the group commit, where each runs synchronously in its own savepoint on
 * the one connection, so a read-decide-write never interleaves with another: that serialises concurrent writers.
 */
export class SqlitePaymentStore implements PaymentStore {
  private readonly q: ReturnType<typeof prepareQueries>;
  private readonly inserts: InboxInserts;
  private readonly writeUpdate: Statement<ReturnType<typeof updateParams>>;
  private readonly writeEvent: Statement<ReturnType<typeof eventParams>>;
  private readonly reads: ReturnType<typeof prepareRowReads>;
  /** SQLite serves one process (docs/contract.md, Running several instances): its leases need not outlive it. */
  private readonly leases = new Map<string, { holder: string; expiresAt: number }>();

  constructor(
    private readonly db: SqliteDatabase,
    private readonly writes: GroupCommit,
    private readonly sessionLifetimeMs: number,
  ) {
    this.q = prepareQueries(db);
    this.inserts = new InboxInserts(db);
    // The webhook path's writes on better-sqlite3 directly: the rules already know the row they leave, so nothing is
    // read back, and drizzle's parameter filling and row mapping are skipped (BENCHMARKS.md, scenario 3).
    this.writeUpdate = db.$client.prepare(
      `update payments set psp_reference = @pspReference, action = @action, status = @status, refusal_reason = @refusalReason,
         result_code = @resultCode, authorised_by_webhook = @authorisedByWebhook, details_submitted_at = @detailsSubmittedAt,
         version = @version, updated_at = @now
       where id = @id and version = @expectedVersion`,
    );
    this.writeEvent = db.$client.prepare(
      `insert into payment_events (payment_id, version, status, previous_status, source, event_code, result_code, occurred_at)
       values (@paymentId, @version, @status, @previousStatus, @source, @eventCode, @resultCode, @occurredAt)`,
    );
    this.reads = prepareRowReads(db.$client);
  }

  async createPayment(draft: NewPayment, claim: IdempotencyClaim | null, lease?: NewLease): Promise<CreatePaymentResult> {
    return this.writes.write((): CreatePaymentResult => {
      if (claim) {
        const existing = this.q.idempotencyKey.get({ owner: claim.owner, key: claim.key });
        if (existing) {
          if (existing.operation !== claim.operation || existing.requestHash !== claim.requestHash) return { kind: "conflict" };
          const row = this.q.payment.get({ id: existing.paymentId });
          if (!row) throw new Error(`idempotency key points at missing payment ${existing.paymentId}`);
          return { kind: "existing", payment: toPayment(row) };
        }
      }
      const now = new Date();
      const row = this.q.insertPayment.get({
        id: draft.id,
        owner: draft.owner,
        reference: draft.reference,
        amountValue: draft.amount.value,
        currency: draft.amount.currency,
        paymentMethodType: draft.paymentMethodType,
        returnUrl: draft.returnUrl,
        countryCode: draft.countryCode,
        shopperLocale: draft.shopperLocale,
        channel: draft.channel,
        shopperReference: draft.shopperReference,
        storePaymentMethod: draft.storePaymentMethod,
        storedPaymentMethodId: draft.storedPaymentMethodId,
        recurringProcessingModel: draft.recurringProcessingModel,
        now,
      })!;
      if (claim) this.q.insertIdempotencyKey.run({ ...claim, paymentId: draft.id, now });
      if (lease) this.leases.set(draft.id, { holder: lease.holder, expiresAt: now.getTime() + lease.ttlMs });
      return { kind: "created", payment: toPayment(row) };
    });
  }

  async findIdempotencyKey(owner: ApiKeyName, key: string): Promise<IdempotencyRecord | null> {
    const row = this.q.idempotencyKey.get({ owner, key });
    if (!row) return null;
    return {
      operation: row.operation,
      requestHash: row.requestHash,
      paymentId: row.paymentId as PaymentId,
      completed: row.completedAt !== null,
    };
  }

  async claimIdempotencyKey(claim: IdempotencyClaim, paymentId: PaymentId): Promise<IdempotencyState> {
    return this.writes.write(() => {
      const existing = this.q.idempotencyKey.get({ owner: claim.owner, key: claim.key });
      if (!existing) {
        this.q.insertIdempotencyKey.run({ ...claim, paymentId, now: new Date() });
        return "claimed";
      }
      if (existing.operation !== claim.operation || existing.requestHash !== claim.requestHash) return "conflict";
      return existing.completedAt ? "completed" : "in_progress";
    });
  }

  async completeIdempotencyKey(claim: IdempotencyClaim): Promise<void> {
    await this.writes.write(() => this.q.completeIdempotencyKey.run({ owner: claim.owner, key: claim.key, now: new Date() }));
  }

  async getPayment(id: PaymentId): Promise<Payment | null> {
    const row = this.reads.payment(id);
    return row ? toPayment(row) : null;
  }

  async recordSignal(
    id: PaymentId,
    signal: PaymentSignal,
    facts: ProviderFacts,
    settles?: { notificationId: number },
    releases?: HeldLease,
  ): Promise<RecordedSignal> {
    return this.writes.write((): RecordedSignal => {
      if (releases) this.releaseHeld(releases);
      const row = this.q.payment.get({ id });
      if (!row) throw new Error(`payment ${id} vanished`);
      const now = new Date();
      // Claim the inbox item in this transaction, with its outcome: whoever claims it applies it, once.
      const claim = settles
        ? (outcome: NotificationOutcome) => this.q.claimNotification.run({ id: settles.notificationId, now, outcome }).changes > 0
        : null;
      return this.record(toPayment(row), signal, facts, now, claim) ?? { payment: toPayment(row), change: null, anomaly: null };
    });
  }

  async receiveSignal(item: Notification, signal: PaymentSignal): Promise<ReceivedSignal> {
    const receivedAt = new Date();
    return this.writes.write(() => {
      const row = this.q.paymentByPsp.get({ pspReference: item.pspReference });
      if (!row) return { ...this.inserts.insert(item, receivedAt, null), recorded: null };
      let saved: { id: number; duplicate: boolean } | null = null;
      // The item is stored already settled with its outcome: one insert instead of an insert and a claim.
      const recorded = this.record(toPayment(row), signal, { pspReference: item.pspReference as PspReference }, receivedAt, (outcome) => {
        saved = this.inserts.insert(item, receivedAt, { at: receivedAt, outcome });
        return !saved.duplicate;
      });
      // A webhook the rules call foreign is stored unapplied, for the usual path to settle.
      saved ??= this.inserts.insert(item, receivedAt, null);
      return { ...saved, recorded: saved.duplicate ? null : recorded };
    });
  }

  /**
   * The status rules on `before`, then (when `claim` takes the inbox item, or there is none) its update and event:
   * runs inside a write. Null when the webhook is foreign or its item was claimed already: nothing was written.
   */
  private record(
    before: Payment,
    signal: PaymentSignal,
    facts: ProviderFacts,
    now: Date,
    claim: ((outcome: NotificationOutcome) => boolean) | null,
  ): RecordedSignal | null {
    const effect = applyPaymentSignal(before, signal, facts, now, claim !== null);
    if (effect.kind === "foreign") return null;
    const { update, event, anomaly } = effect;
    if (claim && !claim(event ? NotificationOutcome.APPLIED : NotificationOutcome.NO_CHANGE)) return null;
    if (!update) return { payment: before, change: null, anomaly };
    if (this.writeUpdate.run(updateParams(before, update, now)).changes === 0) {
      throw new Error(`payment ${before.id} changed under its own transaction`);
    }
    if (event) this.writeEvent.run(eventParams(event));
    return recordedOf(before, effect, now);
  }

  async getPaymentByPspReference(pspReference: string): Promise<Payment | null> {
    const row = this.q.paymentByPsp.get({ pspReference });
    return row ? toPayment(row) : null;
  }

  async findPaymentFor(target: NotificationTarget): Promise<Payment | null> {
    const byPsp = this.q.paymentByPsp.get({ pspReference: target.pspReference });
    if (byPsp) return toPayment(byPsp);
    // Placeholders in a where clause are bound as given, not through the column's timestamp encoder.
    const createdAfter = Date.now() - this.sessionLifetimeMs;
    const candidates = target.amount
      ? this.q.awaitingPspWithAmount.all({ reference: target.merchantReference, createdAfter, ...target.amount })
      : this.q.awaitingPsp.all({ reference: target.merchantReference, createdAfter });
    return candidates.length === 1 ? toPayment(candidates[0]!) : null;
  }

  async findOwnPaymentByPspReference(owner: ApiKeyName, pspReference: string): Promise<Payment | null> {
    const row = this.q.ownPaymentByPsp.get({ owner, pspReference });
    return row ? toPayment(row) : null;
  }

  async expireOrphans(): Promise<PaymentId[]> {
    const now = new Date();
    return this.writes.write(() =>
      this.q.expireOrphans.all({ now, createdBefore: now.getTime() - this.sessionLifetimeMs }).map((row) => row.id as PaymentId),
    );
  }

  async listEvents(id: PaymentId, afterVersion: number): Promise<PaymentEvent[]> {
    return this.reads.events(id, afterVersion).map(toEvent);
  }

  async takeLease(key: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const current = this.leases.get(key);
    if (current && current.holder !== holder && current.expiresAt > now) return false;
    this.leases.set(key, { holder, expiresAt: now + ttlMs });
    return true;
  }

  async releaseLease(key: string, holder: string): Promise<void> {
    this.releaseHeld({ key, holder });
  }

  private releaseHeld({ key, holder }: HeldLease): void {
    if (this.leases.get(key)?.holder === holder) this.leases.delete(key);
  }

  async ping(): Promise<void> {
    // Through the group commit, like every write: ready means a write commits, not only that reads answer.
    await this.writes.write(() => probeWrite(this.db.$client));
  }
}

/**
 * Every statement prepared once: drizzle building and SQLite compiling a statement per call cost more than the
 * query itself (BENCHMARKS.md).
 */
function prepareQueries(db: SqliteDatabase) {
  const p = sql.placeholder;
  return {
    payment: db
      .select()
      .from(payments)
      .where(eq(payments.id, p("id")))
      .prepare(),
    paymentByPsp: db
      .select()
      .from(payments)
      .where(eq(payments.pspReference, p("pspReference")))
      .prepare(),
    // Webhooks that beat Adyen's /payments answer: at most two, to tell one match from an ambiguous one.
    awaitingPsp: db
      .select()
      .from(payments)
      .where(
        and(
          isNull(payments.pspReference),
          isNull(payments.expiredAt),
          eq(payments.reference, p("reference")),
          gte(payments.createdAt, p("createdAfter")),
        ),
      )
      .limit(2)
      .prepare(),
    awaitingPspWithAmount: db
      .select()
      .from(payments)
      .where(
        and(
          isNull(payments.pspReference),
          isNull(payments.expiredAt),
          eq(payments.reference, p("reference")),
          gte(payments.createdAt, p("createdAfter")),
          eq(payments.amountValue, p("value")),
          eq(payments.currency, p("currency")),
        ),
      )
      .limit(2)
      .prepare(),
    expireOrphans: db
      .update(payments)
      .set({ expiredAt: setPlaceholder("now") })
      .where(
        and(
          isNull(payments.status),
          eq(payments.version, 0),
          isNull(payments.pspReference),
          isNull(payments.expiredAt),
          lt(payments.createdAt, p("createdBefore")),
        ),
      )
      .returning({ id: payments.id })
      .prepare(),
    ownPaymentByPsp: db
      .select()
      .from(payments)
      .where(and(eq(payments.pspReference, p("pspReference")), eq(payments.owner, p("owner"))))
      .prepare(),
    insertPayment: db
      .insert(payments)
      .values({
        id: p("id"),
        owner: p("owner"),
        reference: p("reference"),
        amountValue: p("amountValue"),
        currency: p("currency"),
        paymentMethodType: p("paymentMethodType"),
        returnUrl: p("returnUrl"),
        countryCode: p("countryCode"),
        shopperLocale: p("shopperLocale"),
        channel: p("channel"),
        shopperReference: p("shopperReference"),
        storePaymentMethod: p("storePaymentMethod"),
        storedPaymentMethodId: p("storedPaymentMethodId"),
        recurringProcessingModel: p("recurringProcessingModel"),
        createdAt: p("now"),
        updatedAt: p("now"),
      })
      .returning()
      .prepare(),
    idempotencyKey: db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.owner, p("owner")), eq(idempotencyKeys.key, p("key"))))
      .prepare(),
    insertIdempotencyKey: db
      .insert(idempotencyKeys)
      .values({
        owner: p("owner"),
        key: p("key"),
        operation: p("operation"),
        requestHash: p("requestHash"),
        paymentId: p("paymentId"),
        createdAt: p("now"),
      })
      .prepare(),
    completeIdempotencyKey: db
      .update(idempotencyKeys)
      .set({ completedAt: setPlaceholder("now") })
      .where(and(eq(idempotencyKeys.owner, p("owner")), eq(idempotencyKeys.key, p("key"))))
      .prepare(),
    claimNotification: db
      .update(notificationInbox)
      .set({ appliedAt: setPlaceholder("now"), outcome: setPlaceholder("outcome") })
      .where(and(eq(notificationInbox.id, p("id")), isNull(notificationInbox.appliedAt)))
      .prepare(),
  };
}

/** A payment's update as the plain statement binds it: SQLite has no booleans, dates or JSON. */
function updateParams(before: Payment, update: PaymentUpdate, now: Date) {
  return {
    id: before.id,
    expectedVersion: before.version,
    pspReference: update.pspReference,
    action: update.action === null ? null : JSON.stringify(update.action),
    status: update.status,
    refusalReason: update.refusalReason,
    resultCode: update.resultCode,
    authorisedByWebhook: update.authorisedByWebhook ? 1 : 0,
    detailsSubmittedAt: update.detailsSubmittedAt?.getTime() ?? null,
    version: update.version,
    now: now.getTime(),
  };
}

function eventParams(event: PaymentEvent) {
  return {
    paymentId: event.paymentId,
    version: event.version,
    status: event.status,
    previousStatus: event.previousStatus,
    source: event.source,
    eventCode: event.eventCode,
    resultCode: event.resultCode,
    occurredAt: event.occurredAt.getTime(),
  };
}
