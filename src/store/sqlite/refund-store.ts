import { and, asc, eq, isNotNull, isNull, lte, sql } from "drizzle-orm";
import type { PaymentId, PspReference, RefundId } from "../../payments/ids.js";
import type { Amount, Payment, VisiblePayment } from "../../payments/payment.js";
import type { CreateRefundResult, IdempotencyClaim, RecordedRefundSignal, RefundStore, RefundTarget } from "../../payments/ports.js";
import type { Refund, RefundSignal, RefundSource } from "../../payments/refund.js";
import { applyRefundSignal, refundEvent } from "../../payments/apply-signal.js";
import { EventSource } from "../../payments/status.js";
import type { SqliteDatabase } from "./database.js";
import type { GroupCommit } from "./group-commit.js";
import { prepareRowReads } from "./raw-read.js";
import { newRefundRow, toPayment, toRefund } from "../rows.js";
import { idempotencyKeys, notificationInbox, paymentEvents, payments, refunds } from "./schema.js";
import { NotificationOutcome } from "../../payments/notification.js";

/**
 * RefundStore on SQLite. Each write runs synchronously inside the group commit (one connection, one writer): reading
 * the payment and its refunds, deciding and writing cannot interleave with another write, so concurrent refunds of
 * one payment serialise and their reservations never exceed the amount.
 */
export class SqliteRefundStore implements RefundStore {
  private readonly reads: ReturnType<typeof prepareRowReads>;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly writes: GroupCommit,
  ) {
    this.reads = prepareRowReads(db.$client);
  }

  createRefund(
    paymentId: PaymentId,
    plan: (payment: Payment, refunds: readonly Refund[]) => { amount: Amount; reference: string },
    draft: { id: RefundId; nextSendAt: Date },
    claim: IdempotencyClaim | null,
  ): Promise<CreateRefundResult> {
    return this.writes.write((): CreateRefundResult => {
      if (claim) {
        const existing = this.db
          .select()
          .from(idempotencyKeys)
          .where(and(eq(idempotencyKeys.owner, claim.owner), eq(idempotencyKeys.key, claim.key)))
          .get();
        if (existing) {
          if (existing.operation !== claim.operation || existing.requestHash !== claim.requestHash || !existing.refundId) {
            return { kind: "conflict" };
          }
          return { kind: "existing", refund: this.refund(existing.refundId as RefundId) };
        }
      }
      const payment = this.payment(paymentId);
      const { amount, reference } = plan(payment, this.refundsOf(paymentId));
      const now = new Date();
      const row = this.db
        .insert(refunds)
        .values(
          newRefundRow(
            { id: draft.id, paymentId, amount, reference, status: "PENDING", source: EventSource.API, nextSendAt: draft.nextSendAt },
            now,
          ),
        )
        .returning()
        .get();
      if (claim) {
        this.db
          .insert(idempotencyKeys)
          .values({ ...claim, paymentId, refundId: draft.id, createdAt: now, completedAt: now })
          .run();
      }
      const refund = toRefund(row);
      return { kind: "created", refund, change: this.recordChange(payment, refund, EventSource.API, null, now) };
    });
  }

  recordRefundSignal(id: RefundId, signal: RefundSignal, settles?: { notificationId: number }): Promise<RecordedRefundSignal> {
    return this.writes.write((): RecordedRefundSignal => {
      const before = this.refund(id);
      const now = new Date();
      if (settles && !this.claimNotification(settles.notificationId, now)) return { refund: before, change: null };
      const next = applyRefundSignal(before, signal);
      const row = this.db
        .update(refunds)
        .set({ status: next.status, reason: next.reason, pspReference: next.pspReference, nextSendAt: next.nextSendAt, updatedAt: now })
        .where(eq(refunds.id, id))
        .returning()
        .get()!;
      const refund = toRefund(row);
      if (!next.changed) return { refund, change: null };
      const source = signal.kind === "WEBHOOK" ? EventSource.WEBHOOK : EventSource.API;
      const eventCode = signal.kind === "WEBHOOK" ? signal.eventCode : null;
      const change = this.recordChange(this.payment(refund.paymentId), refund, source, eventCode, now);
      if (settles) this.markApplied(settles.notificationId);
      return { refund, change };
    });
  }

  recordExternalRefund(
    paymentId: PaymentId,
    draft: { id: RefundId; amount: Amount; reference: string; pspReference: PspReference },
    settles: { notificationId: number },
  ): Promise<RecordedRefundSignal> {
    return this.writes.write((): RecordedRefundSignal => {
      const now = new Date();
      const known = this.db.select().from(refunds).where(eq(refunds.pspReference, draft.pspReference)).get();
      if (known || !this.claimNotification(settles.notificationId, now)) {
        return { refund: known ? toRefund(known) : this.refund(draft.id), change: null };
      }
      const row = this.db
        .insert(refunds)
        .values(newRefundRow({ ...draft, paymentId, status: "SUCCEEDED", source: EventSource.WEBHOOK }, now))
        .returning()
        .get();
      const refund = toRefund(row);
      const change = this.recordChange(this.payment(paymentId), refund, EventSource.WEBHOOK, "REFUND", now);
      this.markApplied(settles.notificationId);
      return { refund, change };
    });
  }

  async findRefundFor(target: RefundTarget): Promise<Refund | null> {
    const own = this.db.select().from(refunds).where(eq(refunds.pspReference, target.pspReference)).get();
    if (own) return toRefund(own);
    // Before Adyen's answer is stored: the payment's pspReference and the refund's own reference, unambiguous only.
    const candidates = this.db
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
      .limit(2)
      .all();
    return candidates.length === 1 ? toRefund(candidates[0]!.refund) : null;
  }

  async getRefund(id: RefundId): Promise<Refund | null> {
    const row = this.db.select().from(refunds).where(eq(refunds.id, id)).get();
    return row ? toRefund(row) : null;
  }

  async listRefunds(paymentId: PaymentId): Promise<Refund[]> {
    return this.reads.refunds(paymentId).map(toRefund);
  }

  takeDueRefunds(now: Date, limit: number, leaseUntil: Date): Promise<Refund[]> {
    return this.writes.write(() => {
      const due = this.db
        .select()
        .from(refunds)
        .where(and(isNotNull(refunds.nextSendAt), lte(refunds.nextSendAt, now), eq(refunds.status, "PENDING")))
        .orderBy(asc(refunds.nextSendAt))
        .limit(limit)
        .all();
      for (const row of due) this.db.update(refunds).set({ nextSendAt: leaseUntil }).where(eq(refunds.id, row.id)).run();
      return due.map(toRefund);
    });
  }

  async scheduleResend(id: RefundId, nextSendAt: Date): Promise<void> {
    await this.writes.write(() => {
      const row = this.refund(id);
      // Adyen may have answered meanwhile (another send, or a webhook): then there is nothing left to send.
      if (row.nextSendAt === null) return;
      this.db
        .update(refunds)
        .set({ nextSendAt, sendAttempts: row.sendAttempts + 1, updatedAt: new Date() })
        .where(eq(refunds.id, id))
        .run();
    });
  }

  /** Bumps the payment's version and records the refund's change as its event; the payment's status is unchanged. */
  private recordChange(payment: Payment, refund: Refund, source: RefundSource, eventCode: string | null, now: Date) {
    const event = refundEvent(payment, refund, source, eventCode, now);
    const updated = this.db
      .update(payments)
      .set({ version: event.version, updatedAt: now })
      .where(and(eq(payments.id, payment.id), eq(payments.version, payment.version)))
      .returning()
      .get();
    if (!updated) throw new Error(`payment ${payment.id} changed under its own transaction`);
    this.db.insert(paymentEvents).values(event).run();
    return { payment: toPayment(updated) as VisiblePayment, event, refund };
  }

  private claimNotification(id: number, now: Date): boolean {
    return (
      this.db
        .update(notificationInbox)
        .set({ appliedAt: now, outcome: NotificationOutcome.NO_CHANGE })
        .where(and(eq(notificationInbox.id, id), isNull(notificationInbox.appliedAt)))
        .run().changes > 0
    );
  }

  private markApplied(id: number): void {
    this.db.update(notificationInbox).set({ outcome: NotificationOutcome.APPLIED }).where(eq(notificationInbox.id, id)).run();
  }

  private payment(id: PaymentId): Payment {
    const row = this.db.select().from(payments).where(eq(payments.id, id)).get();
    if (!row) throw new Error(`payment ${id} vanished`);
    return toPayment(row);
  }

  private refund(id: RefundId): Refund {
    const row = this.db.select().from(refunds).where(eq(refunds.id, id)).get();
    if (!row) throw new Error(`refund ${id} vanished`);
    return toRefund(row);
  }

  private refundsOf(paymentId: PaymentId): Refund[] {
    return this.db
      .select()
      .from(refunds)
      .where(eq(refunds.paymentId, paymentId))
      .orderBy(asc(refunds.createdAt), asc(sql`rowid`))
      .all()
      .map(toRefund);
  }
}
