import { toEvent, toPayment } from "../rows.js";
import { and, eq, gte, isNull, lt, sql } from "drizzle-orm";
import type { ApiKeyName, PaymentId } from "../../payments/ids.js";
import type { Payment, PaymentEvent, VisiblePayment } from "../../payments/payment.js";
import type {
  CreatePaymentResult,
  IdempotencyClaim,
  IdempotencyRecord,
  IdempotencyState,
  NewPayment,
  NotificationTarget,
  PaymentStore,
  ProviderFacts,
  RecordedSignal,
} from "../../payments/ports.js";
import { NotificationOutcome } from "../../payments/notification.js";
import { applyPaymentSignal } from "../../payments/apply-signal.js";
import type { PaymentSignal } from "../../payments/transitions.js";
import { probeWrite, type SqliteDatabase, setPlaceholder } from "./database.js";
import type { GroupCommit } from "./group-commit.js";
import { prepareRowReads } from "./raw-read.js";
import { idempotencyKeys, notificationInbox, paymentEvents, payments } from "./schema.js";

/**
 * PaymentStore on SQLite. Writes go through the group commit, where each runs synchronously in its own savepoint on
 * the one connection, so a read-decide-write never interleaves with another: that serialises concurrent writers.
 */
export class SqlitePaymentStore implements PaymentStore {
  private readonly q: ReturnType<typeof prepareQueries>;
  private readonly reads: ReturnType<typeof prepareRowReads>;
  /** SQLite serves one process (docs/contract.md, Running several instances): its leases need not outlive it. */
  private readonly leases = new Map<string, { holder: string; expiresAt: number }>();

  constructor(
    private readonly db: SqliteDatabase,
    private readonly writes: GroupCommit,
    private readonly sessionLifetimeMs: number,
  ) {
    this.q = prepareQueries(db);
    this.reads = prepareRowReads(db.$client);
  }

  async createPayment(draft: NewPayment, claim: IdempotencyClaim | null): Promise<CreatePaymentResult> {
    return this.writes.write(() => {
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
  ): Promise<RecordedSignal> {
    return this.writes.write(() => {
      const row = this.q.payment.get({ id });
      if (!row) throw new Error(`payment ${id} vanished`);
      const before = toPayment(row);
      const now = new Date();
      const effect = applyPaymentSignal(before, signal, facts, now, settles !== undefined);
      if (effect.kind === "foreign") return { payment: before, change: null, anomaly: null };
      // Claim the inbox item in this transaction: whoever claims it applies it, once.
      if (settles && this.q.claimNotification.run({ id: settles.notificationId, now }).changes === 0) {
        return { payment: before, change: null, anomaly: null };
      }
      const { update, event, anomaly } = effect;
      if (!update) return { payment: before, change: null, anomaly };
      const updated = this.q.updatePayment.get({
        ...update,
        id,
        expectedVersion: before.version,
        detailsSubmittedAt: update.detailsSubmittedAt?.getTime() ?? null,
        now,
      });
      if (!updated) throw new Error(`payment ${id} changed under its own transaction`);
      const payment = toPayment(updated);
      if (!event) return { payment, change: null, anomaly };
      const stored = this.q.insertEvent.get({ ...event, now })!;
      if (settles) this.q.markNotificationApplied.run({ id: settles.notificationId });
      return { payment, change: { payment: payment as VisiblePayment, event: toEvent(stored) }, anomaly };
    });
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
    updatePayment: db
      .update(payments)
      .set({
        pspReference: setPlaceholder("pspReference"),
        action: setPlaceholder("action"),
        status: setPlaceholder("status"),
        refusalReason: setPlaceholder("refusalReason"),
        resultCode: setPlaceholder("resultCode"),
        authorisedByWebhook: setPlaceholder("authorisedByWebhook"),
        // Set once, never cleared; a raw placeholder, as drizzle's timestamp encoder rejects null.
        detailsSubmittedAt: sql`coalesce(${payments.detailsSubmittedAt}, ${p("detailsSubmittedAt")})`,
        version: setPlaceholder("version"),
        updatedAt: setPlaceholder("now"),
      })
      .where(and(eq(payments.id, p("id")), eq(payments.version, p("expectedVersion"))))
      .returning()
      .prepare(),
    insertEvent: db
      .insert(paymentEvents)
      .values({
        paymentId: p("paymentId"),
        version: p("version"),
        status: p("status"),
        previousStatus: p("previousStatus"),
        source: p("source"),
        eventCode: p("eventCode"),
        resultCode: p("resultCode"),
        occurredAt: p("now"),
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
      .set({ appliedAt: setPlaceholder("now"), outcome: NotificationOutcome.NO_CHANGE })
      .where(and(eq(notificationInbox.id, p("id")), isNull(notificationInbox.appliedAt)))
      .prepare(),
    markNotificationApplied: db
      .update(notificationInbox)
      .set({ outcome: NotificationOutcome.APPLIED })
      .where(eq(notificationInbox.id, p("id")))
      .prepare(),
  };
}
