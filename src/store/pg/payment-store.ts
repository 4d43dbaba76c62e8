import { randomUUID } from "node:crypto";
import { and, asc, eq, gt, gte, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import { applyPaymentSignal } from "../../payments/apply-signal.js";
import type { ApiKeyName, PaymentId, PspReference } from "../../payments/ids.js";
import { type Notification, NotificationOutcome } from "../../payments/notification.js";
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
import type { PaymentSignal } from "../../payments/transitions.js";
import { type AppliedEffect, recordedOf, toEvent, toPayment } from "../rows.js";
import type { PgDatabase, PgTransaction } from "./database.js";
import { notificationId, saveNotifications } from "./notification-inbox.js";
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

  async createPayment(draft: NewPayment, claim: IdempotencyClaim | null, lease?: NewLease): Promise<CreatePaymentResult> {
    const now = new Date();
    const { amount, ...fields } = draft;
    const row = { ...fields, amountValue: amount.value, currency: amount.currency, createdAt: now, updatedAt: now };
    // The payment's id is new, so nobody else can hold its lease: a plain insert, committed with the row.
    const leaseRow = lease && { key: draft.id, holder: lease.holder, expiresAt: new Date(now.getTime() + lease.ttlMs) };
    if (!claim) {
      // No key to race for: one statement writes the row and its lease (each round trip costs the gateway CPU too).
      const inserted = this.db.$with("inserted").as(this.db.insert(payments).values(row).returning());
      const withLease = leaseRow ? [this.db.$with("leased").as(this.db.insert(leases).values(leaseRow))] : [];
      const [created] = await this.db
        .with(inserted, ...withLease)
        .select()
        .from(inserted);
      return { kind: "created", payment: toPayment(created!) };
    }
    const existing = await this.existingFor(claim);
    if (existing) return existing;
    try {
      return await this.db.transaction(async (tx) => {
        const [created] = await tx.insert(payments).values(row).returning();
        // A concurrent request with the same key waits here for the first to commit, then inserts nothing.
        const won = await tx
          .insert(idempotencyKeys)
          .values({ ...claim, paymentId: draft.id, createdAt: now })
          .onConflictDoNothing()
          .returning({ key: idempotencyKeys.key });
        if (won.length === 0) throw new LostRace();
        if (leaseRow) await tx.insert(leases).values(leaseRow);
        return { kind: "created" as const, payment: toPayment(created!) };
      });
    } catch (error) {
      if (!(error instanceof LostRace)) throw error;
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
    releases?: HeldLease,
  ): Promise<RecordedSignal> {
    return this.db.transaction(async (tx) => {
      // Load for update: a concurrent signal for this payment waits until this one commits, then decides on its result.
      // The lease goes in the same statement (a round trip less).
      const released = releases ? [tx.$with("released").as(tx.delete(leases).where(leaseHeld(releases)))] : [];
      const [row] = await tx
        .with(...released)
        .select()
        .from(payments)
        .where(eq(payments.id, id))
        .for("update");
      if (!row) throw new Error(`payment ${id} vanished`);
      const before = toPayment(row);
      const now = new Date();
      const effect = applyPaymentSignal(before, signal, facts, now, settles !== undefined);
      if (effect.kind === "foreign") return { payment: before, change: null, anomaly: null };
      // Claim the inbox item in the same statement, with its outcome: whoever claims it applies it, once.
      const written = await writeSignal(tx, before, effect, settles ? { claim: settles.notificationId } : null, now);
      if (settles && written !== "moved" && written.id === null) return { payment: before, change: null, anomaly: null };
      return recordedOf(before, effect, now);
    });
  }

  async receiveSignal(item: Notification, signal: PaymentSignal): Promise<ReceivedSignal> {
    const now = new Date();
    // Read without a lock, decide, and write in one statement that locks the row only if it is still as read (docs/
    // stack.md #17): two round trips and one commit per webhook, no BEGIN and COMMIT.
    const [row] = await this.db.select().from(payments).where(eq(payments.pspReference, item.pspReference));
    const received = await receiveOn(this.db, row ? toPayment(row) : null, item, signal, now, true);
    if (received) return received;
    // The row moved between the read and the write: decided again on the row locked for update.
    return this.db.transaction(async (tx) => {
      const [locked] = await tx.select().from(payments).where(eq(payments.pspReference, item.pspReference)).for("update");
      return (await receiveOn(tx, locked ? toPayment(locked) : null, item, signal, now, false))!;
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
    await this.db.delete(leases).where(leaseHeld({ key, holder }));
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

function leaseHeld({ key, holder }: HeldLease) {
  return and(eq(leases.key, key), eq(leases.holder, holder));
}

function outcomeOf(effect: AppliedEffect): NotificationOutcome {
  return effect.event ? NotificationOutcome.APPLIED : NotificationOutcome.NO_CHANGE;
}

/**
 * Stores the item and writes what the rules decide for it on `before`; null when `guarded` (before is not locked) and
 * the row has moved since it was read: nothing was written.
 */
async function receiveOn(
  db: PgDatabase | PgTransaction,
  before: Payment | null,
  item: Notification,
  signal: PaymentSignal,
  now: Date,
  guarded: boolean,
): Promise<ReceivedSignal | null> {
  const effect = before && applyPaymentSignal(before, signal, { pspReference: item.pspReference as PspReference }, now, true);
  if (!before || !effect || effect.kind === "foreign") {
    const [saved] = await saveNotifications(db, [item], now);
    return { ...saved!, recorded: null };
  }
  const written = await writeSignal(db, before, effect, { insert: item }, now, guarded);
  if (written === "moved") return null;
  // Stored before (a redelivery, or another instance's copy): nothing was written.
  if (written.id === null) return { id: await notificationId(db, item), duplicate: true, recorded: null };
  return { id: written.id, duplicate: false, recorded: recordedOf(before, effect, now) };
}

/**
 * Writes what the rules decided on `before` in one statement (one round trip): the inbox item first (claimed, or
 * inserted already settled), then, only if that returned it, the payment's update and its event. `id` is null when
 * the item was applied or stored before: nothing was written. `guarded`: `before` was read without a lock, so the
 * statement first locks the row if it still holds what the rules read, and writes nothing ("moved") if not.
 */
async function writeSignal(
  db: PgDatabase | PgTransaction,
  before: Payment,
  effect: AppliedEffect,
  inbox: { claim: number } | { insert: Notification } | null,
  now: Date,
  guarded = false,
): Promise<{ id: number | null } | "moved"> {
  const { update, event } = effect;
  if (!inbox && !update) return { id: null };
  const ctes: SQL[] = [];
  if (guarded) ctes.push(sql`locked as (select id from payments where ${asRead(before)} for update)`);
  if (inbox && "claim" in inbox) {
    ctes.push(sql`item as (update notification_inbox set applied_at = ${now}, outcome = ${outcomeOf(effect)}
      where id = ${inbox.claim} and applied_at is null returning id)`);
  } else if (inbox) {
    const n = inbox.insert;
    ctes.push(sql`item as (insert into notification_inbox
        (psp_reference, event_code, success, original_reference, merchant_reference, merchant_account_code, raw, received_at, applied_at, outcome)
      select ${n.pspReference}, ${n.eventCode}, ${n.success}::boolean, ${n.originalReference}, ${n.merchantReference}, ${n.merchantAccountCode},
        ${n.raw}, ${now}::timestamptz, ${now}::timestamptz, ${outcomeOf(effect)} ${guarded ? sql`where exists (select 1 from locked)` : sql``}
      on conflict do nothing returning id)`);
  }
  if (update) {
    ctes.push(sql`changed as (
      update payments set psp_reference = ${update.pspReference}, action = ${update.action === null ? null : JSON.stringify(update.action)}::jsonb,
        status = ${update.status}, refusal_reason = ${update.refusalReason}, result_code = ${update.resultCode},
        authorised_by_webhook = ${update.authorisedByWebhook}, details_submitted_at = ${update.detailsSubmittedAt},
        version = ${update.version}, updated_at = ${now}
      where id = ${before.id} and version = ${before.version} ${inbox ? sql`and exists (select 1 from item)` : sql``}
      returning id)`);
  }
  if (event) {
    ctes.push(sql`event as (
      insert into payment_events (payment_id, version, status, previous_status, source, event_code, result_code, occurred_at)
      select id, ${event.version}::int, ${event.status}, ${event.previousStatus}, ${event.source}, ${event.eventCode}, ${event.resultCode}, ${event.occurredAt}::timestamptz
      from changed)`);
  }
  const { rows } = await db.execute<{ id: number | null; changed: number; locked: number }>(
    sql`with ${sql.join(ctes, sql`, `)} select ${inbox ? sql`(select id from item)` : sql`null`} as id,
      ${update ? sql`(select count(*) from changed)` : sql`0`}::int as changed, ${guarded ? sql`(select count(*) from locked)` : sql`1`}::int as locked`,
  );
  const result = rows[0]!;
  if (result.locked === 0) return "moved";
  if (inbox && result.id === null) return { id: null };
  if (update && result.changed === 0) throw new Error(`payment ${before.id} changed under its own transaction`);
  return { id: result.id };
}

/** The payment's row still holds every column the rules read in `before`. */
function asRead(before: Payment): SQL {
  return sql`id = ${before.id} and version = ${before.version} and status is not distinct from ${before.status}
    and psp_reference is not distinct from ${before.pspReference} and coalesce(action, 'null'::jsonb) = ${JSON.stringify(before.action)}::jsonb
    and refusal_reason is not distinct from ${before.refusalReason} and result_code is not distinct from ${before.resultCode}
    and authorised_by_webhook = ${before.authorisedByWebhook}
    and details_submitted_at is not distinct from ${before.detailsSubmittedAt}::timestamptz`;
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
