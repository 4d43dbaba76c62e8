import { randomUUID } from "node:crypto";
import { and, asc, eq, gt, gte, isNull, lt, or, sql } from "drizzle-orm";
import { applyPaymentSignal } from "../../payments/apply-signal.js";
import type { ApiKeyName, PaymentId } from "../../payments/ids.js";
import { NotificationOutcome } from "../../payments/notification.js";
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
import type { PaymentSignal } from "../../payments/transitions.js";
import { toEvent, toPayment } from "../rows.js";
import type { PgDatabase, PgTransaction } from "./database.js";
import { idempotencyKeys, leases, notificationInbox, paymentEvents, payments } from "./schema.js";

/** Thrown inside a transaction to roll it back when a concurrent request won a unique key (docs/stack.md #17). */
class LostRace extends Error {}

/**
 * PaymentStore on PostgreSQL. Many processes write at once, so nothing relies on one writer: a change is decided on the
 * payment row locked FOR UPDATE, idempotency keys and inbox items are claimed by their unique keys.
 */
export class PgPaymentStore implements PaymentStore {
  private readonly reads: ReturnType<typeof prepareReads>;

  constructor(
    private readonly db: PgDatabase,
    private readonly sessionLifetimeMs: number,
  ) {
    this.reads = prepareReads(db);
  }

  async createPayment(draft: NewPayment, claim: IdempotencyClaim | null): Promise<CreatePaymentResult> {
    if (claim) {
      const existing = await this.existingFor(claim);
      if (existing) return existing;
    }
    try {
      return await this.db.transaction(async (tx) => {
        const now = new Date();
        const { amount, ...fields } = draft;
        const [row] = await tx
          .insert(payments)
          .values({ ...fields, amountValue: amount.value, currency: amount.currency, createdAt: now, updatedAt: now })
          .returning();
        if (claim) {
          // A concurrent request with the same key waits here for the first to commit, then inserts nothing.
          const won = await tx
            .insert(idempotencyKeys)
            .values({ ...claim, paymentId: draft.id, createdAt: now })
            .onConflictDoNothing()
            .returning({ key: idempotencyKeys.key });
          if (won.length === 0) throw new LostRace();
        }
        return { kind: "created" as const, payment: toPayment(row!) };
      });
    } catch (error) {
      if (!(error instanceof LostRace) || !claim) throw error;
      const existing = await this.existingFor(claim);
      if (!existing) throw new Error(`idempotency key ${claim.key} vanished`);
      return existing;
    }
  }

  private async existingFor(claim: IdempotencyClaim): Promise<CreatePaymentResult | null> {
    const existing = await this.idempotencyKey(claim.owner, claim.key);
    if (!existing) return null;
    if (existing.operation !== claim.operation || existing.requestHash !== claim.requestHash) return { kind: "conflict" };
    const payment = await this.getPayment(existing.paymentId as PaymentId);
    if (!payment) throw new Error(`idempotency key points at missing payment ${existing.paymentId}`);
    return { kind: "existing", payment };
  }

  private async idempotencyKey(owner: string, key: string) {
    const [row] = await this.db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.owner, owner), eq(idempotencyKeys.key, key)));
    return row ?? null;
  }

  async findIdempotencyKey(owner: ApiKeyName, key: string): Promise<IdempotencyRecord | null> {
    const row = await this.idempotencyKey(owner, key);
    if (!row) return null;
    return {
      operation: row.operation,
      requestHash: row.requestHash,
      paymentId: row.paymentId as PaymentId,
      completed: row.completedAt !== null,
    };
  }

  async claimIdempotencyKey(claim: IdempotencyClaim, paymentId: PaymentId): Promise<IdempotencyState> {
    const won = await this.db
      .insert(idempotencyKeys)
      .values({ ...claim, paymentId, createdAt: new Date() })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });
    if (won.length > 0) return "claimed";
    const existing = await this.idempotencyKey(claim.owner, claim.key);
    if (!existing) throw new Error(`idempotency key ${claim.key} vanished`);
    if (existing.operation !== claim.operation || existing.requestHash !== claim.requestHash) return "conflict";
    return existing.completedAt ? "completed" : "in_progress";
  }

  async completeIdempotencyKey(claim: IdempotencyClaim): Promise<void> {
    await this.db
      .update(idempotencyKeys)
      .set({ completedAt: new Date() })
      .where(and(eq(idempotencyKeys.owner, claim.owner), eq(idempotencyKeys.key, claim.key)));
  }

  async getPayment(id: PaymentId): Promise<Payment | null> {
    const [row] = await this.reads.payment.execute({ id });
    return row ? toPayment(row) : null;
  }

  async recordSignal(
    id: PaymentId,
    signal: PaymentSignal,
    facts: ProviderFacts,
    settles?: { notificationId: number },
  ): Promise<RecordedSignal> {
    return this.db.transaction(async (tx) => {
      // Load for update: a concurrent signal for this payment waits until this one commits, then decides on its result.
      const [row] = await tx.select().from(payments).where(eq(payments.id, id)).for("update");
      if (!row) throw new Error(`payment ${id} vanished`);
      const before = toPayment(row);
      const now = new Date();
      const effect = applyPaymentSignal(before, signal, facts, now, settles !== undefined);
      if (effect.kind === "foreign") return { payment: before, change: null, anomaly: null };
      const { update, event, anomaly } = effect;
      // Claim the inbox item in this transaction, with its outcome: whoever claims it applies it, once.
      const outcome = event ? NotificationOutcome.APPLIED : NotificationOutcome.NO_CHANGE;
      if (settles && !(await claimNotification(tx, settles.notificationId, now, outcome))) {
        return { payment: before, change: null, anomaly: null };
      }
      if (!update) return { payment: before, change: null, anomaly };
      const [updated] = await tx
        .update(payments)
        .set({ ...update, updatedAt: now })
        .where(and(eq(payments.id, id), eq(payments.version, before.version)))
        .returning();
      if (!updated) throw new Error(`payment ${id} changed under its own transaction`);
      const payment = toPayment(updated);
      if (!event) return { payment, change: null, anomaly };
      const stored = await insertEvent(tx, event);
      return { payment, change: { payment: payment as VisiblePayment, event: stored }, anomaly };
    });
  }

  async getPaymentByPspReference(pspReference: string): Promise<Payment | null> {
    const [row] = await this.db.select().from(payments).where(eq(payments.pspReference, pspReference));
    return row ? toPayment(row) : null;
  }

  async findPaymentFor(target: NotificationTarget): Promise<Payment | null> {
    const byPsp = await this.getPaymentByPspReference(target.pspReference);
    if (byPsp) return byPsp;
    const createdAfter = new Date(Date.now() - this.sessionLifetimeMs);
    // Webhooks that beat Adyen's /payments answer: at most two, to tell one match from an ambiguous one.
    const candidates = await this.db
      .select()
      .from(payments)
      .where(
        and(
          isNull(payments.pspReference),
          isNull(payments.expiredAt),
          eq(payments.reference, target.merchantReference),
          gte(payments.createdAt, createdAfter),
          target.amount ? eq(payments.amountValue, target.amount.value) : undefined,
          target.amount ? eq(payments.currency, target.amount.currency) : undefined,
        ),
      )
      .limit(2);
    return candidates.length === 1 ? toPayment(candidates[0]!) : null;
  }

  async findOwnPaymentByPspReference(owner: ApiKeyName, pspReference: string): Promise<Payment | null> {
    const [row] = await this.db
      .select()
      .from(payments)
      .where(and(eq(payments.pspReference, pspReference), eq(payments.owner, owner)));
    return row ? toPayment(row) : null;
  }

  async expireOrphans(): Promise<PaymentId[]> {
    const now = new Date();
    const rows = await this.db
      .update(payments)
      .set({ expiredAt: now })
      .where(
        and(
          isNull(payments.status),
          eq(payments.version, 0),
          isNull(payments.pspReference),
          isNull(payments.expiredAt),
          lt(payments.createdAt, new Date(now.getTime() - this.sessionLifetimeMs)),
        ),
      )
      .returning({ id: payments.id });
    return rows.map((row) => row.id as PaymentId);
  }

  async listEvents(id: PaymentId, afterVersion: number): Promise<PaymentEvent[]> {
    const rows = await this.reads.events.execute({ id, afterVersion });
    return rows.map(toEvent);
  }

  async takeLease(key: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = new Date();
    const expiresAt = new Date(now.getTime() + ttlMs);
    // One statement: a concurrent taker waits on the row and then sees it held (docs/stack.md #17).
    const taken = await this.db
      .insert(leases)
      .values({ key, holder, expiresAt })
      .onConflictDoUpdate({
        target: leases.key,
        set: { holder, expiresAt },
        setWhere: or(lt(leases.expiresAt, now), eq(leases.holder, holder)),
      })
      .returning({ key: leases.key });
    return taken.length > 0;
  }

  async releaseLease(key: string, holder: string): Promise<void> {
    await this.db.delete(leases).where(and(eq(leases.key, key), eq(leases.holder, holder)));
  }

  async ping(): Promise<void> {
    // A committed write that leaves nothing behind (ready means a write commits): a probe lease added and removed, two
    // statements in one simple-protocol query, which PostgreSQL runs as one transaction in one round trip (a
    // connection lost between two statements of a client-side transaction would be an error nobody listens to).
    const key = `readyz:${randomUUID()}`;
    await this.db.$client.query(
      `insert into leases (key, holder, expires_at) values ('${key}', '${key}', now()); delete from leases where key = '${key}'`,
    );
  }
}

export async function insertEvent(tx: PgTransaction, event: PaymentEvent): Promise<PaymentEvent> {
  const [row] = await tx.insert(paymentEvents).values(event).returning();
  return toEvent(row!);
}

/** Takes an unapplied inbox item for this transaction; false when another already applied it. */
export async function claimNotification(
  tx: PgTransaction,
  id: number,
  now: Date,
  outcome: NotificationOutcome = NotificationOutcome.NO_CHANGE,
): Promise<boolean> {
  const claimed = await tx
    .update(notificationInbox)
    .set({ appliedAt: now, outcome })
    .where(and(eq(notificationInbox.id, id), isNull(notificationInbox.appliedAt)))
    .returning({ id: notificationInbox.id });
  return claimed.length > 0;
}

export async function markApplied(tx: PgTransaction, id: number): Promise<void> {
  await tx.update(notificationInbox).set({ outcome: NotificationOutcome.APPLIED }).where(eq(notificationInbox.id, id));
}

/**
 * payment(id)'s reads, built once and prepared by name on each connection: drizzle building a query per call was a
 * third of a query's CPU on PostgreSQL (BENCHMARKS.md, scenario 2).
 */
function prepareReads(db: PgDatabase) {
  const p = sql.placeholder;
  return {
    payment: db
      .select()
      .from(payments)
      .where(eq(payments.id, p("id")))
      .prepare("payment_by_id"),
    events: db
      .select()
      .from(paymentEvents)
      .where(and(eq(paymentEvents.paymentId, p("id")), gt(paymentEvents.version, p("afterVersion"))))
      .orderBy(asc(paymentEvents.version))
      .prepare("payment_events_after"),
  };
}
