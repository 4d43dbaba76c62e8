import { and, asc, eq, inArray, isNotNull, isNull, lte, type Placeholder, sql } from "drizzle-orm";
import { applyRefundSignal, refundEvent } from "../../payments/apply-signal.js";
import type { PaymentId, PspReference, RefundId } from "../../payments/ids.js";
import type { Amount, Payment, VisiblePayment } from "../../payments/payment.js";
import type { CreateRefundResult, IdempotencyClaim, RecordedRefundSignal, RefundStore, RefundTarget } from "../../payments/ports.js";
import type { Refund, RefundSignal, RefundSource } from "../../payments/refund.js";
import { EventSource } from "../../payments/status.js";
import { newRefundRow, toPayment, toRefund } from "../rows.js";
import type { PgDatabase, PgTransaction } from "./database.js";
import { claimNotification, insertEvent, markApplied } from "./payment-store.js";
import { idempotencyKeys, payments, refunds } from "./schema.js";

/** Thrown inside a transaction to roll it back when a concurrent request won the idempotency key. */
class LostRace extends Error {}

/**
 * RefundStore on PostgreSQL. Every write locks the payment row first (FOR UPDATE), then its refunds: concurrent
 * refunds of one payment, in any instance, serialise and their reservations never exceed the amount; one lock order
 * keeps them free of deadlocks.
 */
export class PgRefundStore implements RefundStore {
  /** payment(id)'s refunds, built once and prepared by name on each connection, as PgPaymentStore's reads. */
  private readonly refundsOfPayment: ReturnType<typeof prepareRefundsOf>;

  constructor(private readonly db: PgDatabase) {
    this.refundsOfPayment = prepareRefundsOf(db);
  }

  async createRefund(
    paymentId: PaymentId,
    plan: (payment: Payment, refunds: readonly Refund[]) => { amount: Amount; reference: string },
    draft: { id: RefundId; nextSendAt: Date },
    claim: IdempotencyClaim | null,
  ): Promise<CreateRefundResult> {
    try {
      return await this.db.transaction(async (tx): Promise<CreateRefundResult> => {
        const payment = await lockPayment(tx, paymentId);
        // Read after the lock: a concurrent request with this key has committed its refund by now.
        const existing = claim ? await existingFor(tx, claim) : null;
        if (existing) return existing;
        const { amount, reference } = plan(payment, await refundsOf(tx, paymentId));
        const now = new Date();
        const [row] = await tx
          .insert(refunds)
          .values(
            newRefundRow(
              { id: draft.id, paymentId, amount, reference, status: "PENDING", source: EventSource.API, nextSendAt: draft.nextSendAt },
              now,
            ),
          )
          .returning();
        if (claim) {
          const won = await tx
            .insert(idempotencyKeys)
            .values({ ...claim, paymentId, refundId: draft.id, createdAt: now, completedAt: now })
            .onConflictDoNothing()
            .returning({ key: idempotencyKeys.key });
          // The key was used for another payment meanwhile.
          if (won.length === 0) throw new LostRace();
        }
        const refund = toRefund(row!);
        return { kind: "created", refund, change: await recordChange(tx, payment, refund, EventSource.API, null, now) };
      });
    } catch (error) {
      if (!(error instanceof LostRace) || !claim) throw error;
      return (await existingFor(this.db, claim)) ?? { kind: "conflict" };
    }
  }

  async recordRefundSignal(id: RefundId, signal: RefundSignal, settles?: { notificationId: number }): Promise<RecordedRefundSignal> {
    const paymentId = (await this.getRefundOrThrow(id)).paymentId;
    return this.db.transaction(async (tx): Promise<RecordedRefundSignal> => {
      const payment = await lockPayment(tx, paymentId);
      const [current] = await tx.select().from(refunds).where(eq(refunds.id, id)).for("update");
      const before = toRefund(current!);
      const now = new Date();
      if (settles && !(await claimNotification(tx, settles.notificationId, now))) return { refund: before, change: null };
      const next = applyRefundSignal(before, signal);
      const [row] = await tx
        .update(refunds)
        .set({ status: next.status, reason: next.reason, pspReference: next.pspReference, nextSendAt: next.nextSendAt, updatedAt: now })
        .where(eq(refunds.id, id))
        .returning();
      const refund = toRefund(row!);
      if (!next.changed) return { refund, change: null };
      const source = signal.kind === "WEBHOOK" ? EventSource.WEBHOOK : EventSource.API;
      const eventCode = signal.kind === "WEBHOOK" ? signal.eventCode : null;
      const change = await recordChange(tx, payment, refund, source, eventCode, now);
      if (settles) await markApplied(tx, settles.notificationId);
      return { refund, change };
    });
  }

  async recordExternalRefund(
    paymentId: PaymentId,
    draft: { id: RefundId; amount: Amount; reference: string; pspReference: PspReference },
    settles: { notificationId: number },
  ): Promise<RecordedRefundSignal> {
    return this.db.transaction(async (tx): Promise<RecordedRefundSignal> => {
      const payment = await lockPayment(tx, paymentId);
      const now = new Date();
      const [known] = await tx.select().from(refunds).where(eq(refunds.pspReference, draft.pspReference));
      if (known || !(await claimNotification(tx, settles.notificationId, now))) {
        const [row] = known ? [known] : await tx.select().from(refunds).where(eq(refunds.id, draft.id));
        if (!row) throw new Error(`refund ${draft.id} vanished`);
        return { refund: toRefund(row), change: null };
      }
      const [row] = await tx
        .insert(refunds)
        .values(newRefundRow({ ...draft, paymentId, status: "SUCCEEDED", source: EventSource.WEBHOOK }, now))
        .returning();
      const refund = toRefund(row!);
      const change = await recordChange(tx, payment, refund, EventSource.WEBHOOK, "REFUND", now);
      await markApplied(tx, settles.notificationId);
      return { refund, change };
    });
  }

  async findRefundFor(target: RefundTarget): Promise<Refund | null> {
    const [own] = await this.db.select().from(refunds).where(eq(refunds.pspReference, target.pspReference));
    if (own) return toRefund(own);
    // Before Adyen's answer is stored: the payment's pspReference and the refund's own reference, unambiguous only.
    const candidates = await this.db
      .select({ refund: refunds })
      .from(refunds)
      .innerJoin(payments, eq(payments.id, refunds.paymentId))
      .where(
        and(
          eq(payments.pspReference, target.paymentPspReference),
          eq(refunds.reference, target.merchantReference),
          isNull(refunds.pspReference),
        ),
      )
      .limit(2);
    return candidates.length === 1 ? toRefund(candidates[0]!.refund) : null;
  }

  async getRefund(id: RefundId): Promise<Refund | null> {
    const [row] = await this.db.select().from(refunds).where(eq(refunds.id, id));
    return row ? toRefund(row) : null;
  }

  private async getRefundOrThrow(id: RefundId): Promise<Refund> {
    const refund = await this.getRefund(id);
    if (!refund) throw new Error(`refund ${id} vanished`);
    return refund;
  }

  async listRefunds(paymentId: PaymentId): Promise<Refund[]> {
    return (await this.refundsOfPayment.execute({ paymentId })).map(toRefund);
  }

  async takeDueRefunds(now: Date, limit: number, leaseUntil: Date): Promise<Refund[]> {
    return this.db.transaction(async (tx) => {
      // SKIP LOCKED: refunds another instance is taking right now are left to it (docs/stack.md #17).
      const due = await tx
        .select({ id: refunds.id })
        .from(refunds)
        .where(and(isNotNull(refunds.nextSendAt), lte(refunds.nextSendAt, now), eq(refunds.status, "PENDING")))
        .orderBy(asc(refunds.nextSendAt))
        .limit(limit)
        .for("update", { skipLocked: true });
      if (due.length === 0) return [];
      const ids = due.map((row) => row.id);
      // Returned as they were before the lease: sendAttempts and the due time are what the re-sender reads.
      const before = await tx.select().from(refunds).where(inArray(refunds.id, ids)).orderBy(asc(refunds.nextSendAt));
      await tx.update(refunds).set({ nextSendAt: leaseUntil }).where(inArray(refunds.id, ids));
      return before.map(toRefund);
    });
  }

  async scheduleResend(id: RefundId, nextSendAt: Date): Promise<void> {
    const [current] = await this.db.select({ sendAttempts: refunds.sendAttempts }).from(refunds).where(eq(refunds.id, id));
    if (!current) throw new Error(`refund ${id} vanished`);
    // Adyen may have answered meanwhile (another send, or a webhook): then there is nothing left to send.
    await this.db
      .update(refunds)
      .set({ nextSendAt, sendAttempts: current.sendAttempts + 1, updatedAt: new Date() })
      .where(and(eq(refunds.id, id), isNotNull(refunds.nextSendAt)));
  }
}

async function lockPayment(tx: PgTransaction, id: PaymentId): Promise<Payment> {
  const [row] = await tx.select().from(payments).where(eq(payments.id, id)).for("update");
  if (!row) throw new Error(`payment ${id} vanished`);
  return toPayment(row);
}

async function existingFor(db: PgDatabase | PgTransaction, claim: IdempotencyClaim): Promise<CreateRefundResult | null> {
  const [existing] = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.owner, claim.owner), eq(idempotencyKeys.key, claim.key)));
  if (!existing) return null;
  if (existing.operation !== claim.operation || existing.requestHash !== claim.requestHash || !existing.refundId) {
    return { kind: "conflict" };
  }
  const [row] = await db.select().from(refunds).where(eq(refunds.id, existing.refundId));
  if (!row) throw new Error(`refund ${existing.refundId} vanished`);
  return { kind: "existing", refund: toRefund(row) };
}

function refundsOf(db: PgDatabase | PgTransaction, paymentId: PaymentId): Promise<Refund[]> {
  return refundsOfQuery(db, paymentId).then((rows) => rows.map(toRefund));
}

function prepareRefundsOf(db: PgDatabase) {
  return refundsOfQuery(db, sql.placeholder("paymentId")).prepare("refunds_of_payment");
}

function refundsOfQuery(db: PgDatabase | PgTransaction, paymentId: PaymentId | Placeholder) {
  return db.select().from(refunds).where(eq(refunds.paymentId, paymentId)).orderBy(asc(refunds.createdAt), asc(refunds.id));
}

/** Bumps the payment's version and records the refund's change as its event; the payment's status is unchanged. */
async function recordChange(
  tx: PgTransaction,
  payment: Payment,
  refund: Refund,
  source: RefundSource,
  eventCode: string | null,
  now: Date,
) {
  const event = refundEvent(payment, refund, source, eventCode, now);
  const [updated] = await tx
    .update(payments)
    .set({ version: event.version, updatedAt: now })
    .where(and(eq(payments.id, payment.id), eq(payments.version, payment.version)))
    .returning();
  if (!updated) throw new Error(`payment ${payment.id} changed under its own transaction`);
  return { payment: toPayment(updated) as VisiblePayment, event: await insertEvent(tx, event), refund };
}
