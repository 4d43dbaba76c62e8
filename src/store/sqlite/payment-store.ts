import { and, asc, desc, eq, gt, isNull, sql } from "drizzle-orm";
import type { ApiKeyName, PaymentId, PspReference, StoredPaymentMethodId } from "../../payments/ids.js";
import type { Channel, Payment, PaymentEvent, RecurringProcessingModel, VisiblePayment } from "../../payments/payment.js";
import type {
  CreatePaymentResult,
  IdempotencyClaim,
  IdempotencyState,
  NewPayment,
  NotificationTarget,
  PaymentStore,
  ProviderFacts,
  RecordedSignal,
} from "../../payments/ports.js";
import { NotificationOutcome } from "../../payments/notification.js";
import type { EventSource, PaymentStatus } from "../../payments/status.js";
import { decideTransition, type PaymentSignal } from "../../payments/transitions.js";
import type { SqliteDatabase } from "./database.js";
import { idempotencyKeys, notificationInbox, paymentEvents, payments } from "./schema.js";

type PaymentRow = typeof payments.$inferSelect;
type EventRow = typeof paymentEvents.$inferSelect;

/**
 * PaymentStore on SQLite. better-sqlite3 runs each transaction synchronously on the one connection, so a
 * read-decide-write never interleaves with another: that is what serialises concurrent writers here.
 */
export class SqlitePaymentStore implements PaymentStore {
  constructor(private readonly db: SqliteDatabase) {}

  async createPayment(draft: NewPayment, claim: IdempotencyClaim | null): Promise<CreatePaymentResult> {
    return this.db.transaction((tx) => {
      if (claim) {
        const existing = tx
          .select()
          .from(idempotencyKeys)
          .where(and(eq(idempotencyKeys.owner, claim.owner), eq(idempotencyKeys.key, claim.key)))
          .get();
        if (existing) {
          if (existing.operation !== claim.operation || existing.requestHash !== claim.requestHash) return { kind: "conflict" };
          const row = tx.select().from(payments).where(eq(payments.id, existing.paymentId)).get();
          if (!row) throw new Error(`idempotency key points at missing payment ${existing.paymentId}`);
          return { kind: "existing", payment: toPayment(row) };
        }
      }
      const now = new Date();
      const row = tx
        .insert(payments)
        .values({
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
          createdAt: now,
          updatedAt: now,
        })
        .returning()
        .get();
      if (claim) {
        tx.insert(idempotencyKeys)
          .values({ ...claim, paymentId: draft.id, createdAt: now })
          .run();
      }
      return { kind: "created", payment: toPayment(row) };
    });
  }

  async claimIdempotencyKey(claim: IdempotencyClaim, paymentId: PaymentId): Promise<IdempotencyState> {
    return this.db.transaction((tx) => {
      const existing = tx
        .select()
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.owner, claim.owner), eq(idempotencyKeys.key, claim.key)))
        .get();
      if (!existing) {
        tx.insert(idempotencyKeys).values({ ...claim, paymentId, createdAt: new Date() }).run();
        return "claimed";
      }
      if (existing.operation !== claim.operation || existing.requestHash !== claim.requestHash) return "conflict";
      return existing.completedAt ? "completed" : "in_progress";
    });
  }

  async completeIdempotencyKey(claim: IdempotencyClaim): Promise<void> {
    this.db
      .update(idempotencyKeys)
      .set({ completedAt: new Date() })
      .where(and(eq(idempotencyKeys.owner, claim.owner), eq(idempotencyKeys.key, claim.key)))
      .run();
  }

  async getPayment(id: PaymentId): Promise<Payment | null> {
    const row = this.db.select().from(payments).where(eq(payments.id, id)).get();
    return row ? toPayment(row) : null;
  }

  async recordSignal(
    id: PaymentId,
    signal: PaymentSignal,
    facts: ProviderFacts,
    settles?: { notificationId: number },
  ): Promise<RecordedSignal> {
    return this.db.transaction((tx) => {
      const row = tx.select().from(payments).where(eq(payments.id, id)).get();
      if (!row) throw new Error(`payment ${id} vanished`);
      const before = toPayment(row);
      const now = new Date();
      if (settles) {
        // Claim the inbox item in this transaction: whoever claims it applies it, once.
        const claimed = tx
          .update(notificationInbox)
          .set({ appliedAt: now, outcome: NotificationOutcome.NO_CHANGE })
          .where(and(eq(notificationInbox.id, settles.notificationId), isNull(notificationInbox.appliedAt)))
          .run();
        if (claimed.changes === 0) return { payment: before, change: null };
      }
      const transition = decideTransition(before, signal);
      const patch: Partial<PaymentRow> = {};
      if (facts.pspReference && !before.pspReference) patch.pspReference = facts.pspReference;
      if (facts.action !== undefined && transition) patch.action = facts.action ?? null;
      if (!transition) {
        if (Object.keys(patch).length === 0) return { payment: before, change: null };
        const updated = tx.update(payments).set({ ...patch, updatedAt: now }).where(eq(payments.id, id)).returning().get();
        return { payment: toPayment(updated!), change: null };
      }
      const version = before.version + 1;
      const updated = tx
        .update(payments)
        .set({
          ...patch,
          status: transition.status,
          refusalReason: transition.refusalReason,
          resultCode: transition.resultCode ?? before.resultCode,
          version,
          updatedAt: now,
        })
        .where(and(eq(payments.id, id), eq(payments.version, before.version)))
        .returning()
        .get();
      if (!updated) throw new Error(`payment ${id} changed under its own transaction`);
      const event = tx
        .insert(paymentEvents)
        .values({
          paymentId: id,
          version,
          status: transition.status,
          previousStatus: before.status,
          source: signal.source,
          eventCode: signal.source === "WEBHOOK" ? signal.eventCode : null,
          resultCode: transition.resultCode,
          occurredAt: now,
        })
        .returning()
        .get();
      if (settles) {
        tx.update(notificationInbox)
          .set({ outcome: NotificationOutcome.APPLIED })
          .where(eq(notificationInbox.id, settles.notificationId))
          .run();
      }
      const payment = toPayment(updated);
      return { payment, change: { payment: payment as VisiblePayment, event: toEvent(event) } };
    });
  }

  async findPaymentFor(target: NotificationTarget): Promise<Payment | null> {
    const byPsp = this.db.select().from(payments).where(eq(payments.pspReference, target.pspReference)).get();
    if (byPsp) return toPayment(byPsp);
    const candidates = this.db
      .select()
      .from(payments)
      .where(
        and(
          isNull(payments.pspReference),
          eq(payments.reference, target.merchantReference),
          target.amount ? eq(payments.amountValue, target.amount.value) : undefined,
          target.amount ? eq(payments.currency, target.amount.currency) : undefined,
        ),
      )
      .limit(2)
      .all();
    return candidates.length === 1 ? toPayment(candidates[0]!) : null;
  }

  async findStoringPayments(shopperReference: string): Promise<Payment[]> {
    return this.db
      .select()
      .from(payments)
      .where(and(eq(payments.shopperReference, shopperReference), eq(payments.storePaymentMethod, true)))
      .orderBy(desc(payments.createdAt))
      .all()
      .map(toPayment);
  }

  async listEvents(id: PaymentId, afterVersion: number): Promise<PaymentEvent[]> {
    return this.db
      .select()
      .from(paymentEvents)
      .where(and(eq(paymentEvents.paymentId, id), gt(paymentEvents.version, afterVersion)))
      .orderBy(asc(paymentEvents.version))
      .all()
      .map(toEvent);
  }

  async ping(): Promise<void> {
    this.db.get(sql`select 1`);
  }
}

function toPayment(row: PaymentRow): Payment {
  return {
    id: row.id as PaymentId,
    owner: row.owner as ApiKeyName,
    reference: row.reference,
    amount: { value: row.amountValue, currency: row.currency },
    paymentMethodType: row.paymentMethodType,
    status: row.status as PaymentStatus | null,
    version: row.version,
    resultCode: row.resultCode,
    refusalReason: row.refusalReason,
    pspReference: row.pspReference as PspReference | null,
    action: row.action ?? null,
    returnUrl: row.returnUrl,
    countryCode: row.countryCode,
    shopperLocale: row.shopperLocale,
    channel: row.channel as Channel | null,
    shopperReference: row.shopperReference,
    storePaymentMethod: row.storePaymentMethod,
    storedPaymentMethodId: row.storedPaymentMethodId as StoredPaymentMethodId | null,
    recurringProcessingModel: row.recurringProcessingModel as RecurringProcessingModel | null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function toEvent(row: EventRow): PaymentEvent {
  return {
    paymentId: row.paymentId as PaymentId,
    version: row.version,
    status: row.status as PaymentStatus,
    previousStatus: row.previousStatus as PaymentStatus | null,
    source: row.source as EventSource,
    eventCode: row.eventCode,
    resultCode: row.resultCode,
    occurredAt: row.occurredAt,
  };
}
