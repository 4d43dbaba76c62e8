import { and, asc, count, eq, gt, inArray, isNull, lte, or, sql } from "drizzle-orm";
import type { Notification, NotificationOutcome, StoredNotification } from "../../payments/notification.js";
import type { NotificationInbox } from "../../payments/ports.js";
import { toNotification } from "../rows.js";
import type { PgDatabase, PgTransaction } from "./database.js";
import { notificationInbox } from "./schema.js";

/** NotificationInbox on PostgreSQL: the unique identity key makes a redelivery to any instance a no-op. */
export class PgNotificationInbox implements NotificationInbox {
  constructor(private readonly db: PgDatabase) {}

  async countUnapplied(): Promise<number> {
    const [row] = await this.db.select({ count: count() }).from(notificationInbox).where(isNull(notificationInbox.appliedAt));
    return row?.count ?? 0;
  }

  async save(items: Notification[]): Promise<Array<{ id: number; duplicate: boolean }>> {
    return saveNotifications(this.db, items, new Date());
  }

  async unapplied(pspReference: string): Promise<StoredNotification[]> {
    const rows = await this.db
      .select()
      .from(notificationInbox)
      .where(
        and(
          isNull(notificationInbox.appliedAt),
          or(eq(notificationInbox.pspReference, pspReference), eq(notificationInbox.originalReference, pspReference)),
        ),
      )
      .orderBy(asc(notificationInbox.id));
    return rows.map(toNotification);
  }

  async take(
    now: Date,
    afterId: number,
    limit: number,
    backoff: { backoffMs: number; maxBackoffMs: number },
  ): Promise<StoredNotification[]> {
    return this.db.transaction(async (tx) => {
      // SKIP LOCKED: items another instance is taking right now are left to it (docs/stack.md #17).
      const due = await tx
        .select({ id: notificationInbox.id })
        .from(notificationInbox)
        .where(
          and(
            isNull(notificationInbox.appliedAt),
            gt(notificationInbox.id, afterId),
            or(isNull(notificationInbox.nextAttemptAt), lte(notificationInbox.nextAttemptAt, now)),
          ),
        )
        .orderBy(asc(notificationInbox.id))
        .limit(limit)
        .for("update", { skipLocked: true });
      if (due.length === 0) return [];
      // The shift is capped so that the doubling cannot overflow however often an item was tried.
      const delayMs = sql`least(${backoff.backoffMs}::bigint * (1::bigint << least(${notificationInbox.attempts}, 30)), ${backoff.maxBackoffMs}::bigint)`;
      const rows = await tx
        .update(notificationInbox)
        .set({
          attempts: sql`${notificationInbox.attempts} + 1`,
          nextAttemptAt: sql`${now.toISOString()}::timestamptz + ${delayMs} * interval '1 millisecond'`,
        })
        .where(
          inArray(
            notificationInbox.id,
            due.map((row) => row.id),
          ),
        )
        .returning();
      return rows.sort((a, b) => a.id - b.id).map(toNotification);
    });
  }

  async settle(id: number, outcome: NotificationOutcome): Promise<void> {
    await this.db
      .update(notificationInbox)
      .set({ appliedAt: new Date(), outcome })
      .where(and(eq(notificationInbox.id, id), isNull(notificationInbox.appliedAt)));
  }
}

/**
 * Stores the items, unapplied, in one statement (one round trip, atomic by itself); an item stored before comes back as
 * a duplicate. A concurrent save of the same item waits for the first to commit, then inserts nothing, and its id is read.
 */
export async function saveNotifications(
  db: PgDatabase | PgTransaction,
  items: Notification[],
  receivedAt: Date,
): Promise<Array<{ id: number; duplicate: boolean }>> {
  if (items.length === 0) return [];
  const inserted = await db
    .insert(notificationInbox)
    .values(
      items.map((item) => ({
        pspReference: item.pspReference,
        eventCode: item.eventCode,
        success: item.success,
        originalReference: item.originalReference,
        merchantReference: item.merchantReference,
        merchantAccountCode: item.merchantAccountCode,
        raw: item.raw,
        receivedAt,
      })),
    )
    .onConflictDoNothing()
    .returning();
  const saved: Array<{ id: number; duplicate: boolean }> = [];
  for (const [i, item] of items.entries()) {
    // An item twice in one request: the first is new, the second its duplicate.
    const earlier = items.findIndex((other) => sameIdentity(other, item));
    if (earlier < i) {
      saved.push({ id: saved[earlier]!.id, duplicate: true });
      continue;
    }
    const fresh = inserted.find((row) => sameIdentity(row, item));
    saved.push(fresh ? { id: fresh.id, duplicate: false } : { id: await notificationId(db, item), duplicate: true });
  }
  return saved;
}

/** The id of an item stored before, found by its identity. */
export async function notificationId(db: PgDatabase | PgTransaction, item: Notification): Promise<number> {
  const [existing] = await db
    .select({ id: notificationInbox.id })
    .from(notificationInbox)
    .where(
      and(
        eq(notificationInbox.pspReference, item.pspReference),
        eq(notificationInbox.eventCode, item.eventCode),
        eq(notificationInbox.success, item.success),
        eq(notificationInbox.originalReference, item.originalReference),
      ),
    );
  if (!existing) throw new Error(`inbox item ${item.pspReference} ${item.eventCode} vanished`);
  return existing.id;
}

function sameIdentity(
  a: Pick<Notification, "pspReference" | "eventCode" | "success" | "originalReference">,
  b: Pick<Notification, "pspReference" | "eventCode" | "success" | "originalReference">,
): boolean {
  return (
    a.pspReference === b.pspReference &&
    a.eventCode === b.eventCode &&
    a.success === b.success &&
    a.originalReference === b.originalReference
  );
}
