import { and, asc, eq, isNull, or } from "drizzle-orm";
import type { Notification, NotificationOutcome, StoredNotification } from "../../payments/notification.js";
import type { NotificationInbox } from "../../payments/ports.js";
import type { SqliteDatabase } from "./database.js";
import { notificationInbox } from "./schema.js";

type Row = typeof notificationInbox.$inferSelect;

/** NotificationInbox on SQLite: one synchronous=FULL transaction per batch, so an acknowledged item is on disk. */
export class SqliteNotificationInbox implements NotificationInbox {
  constructor(private readonly db: SqliteDatabase) {}

  async save(items: Notification[]): Promise<Array<{ id: number; duplicate: boolean }>> {
    const receivedAt = new Date();
    return this.db.transaction((tx) =>
      items.map((item) => {
        const inserted = tx
          .insert(notificationInbox)
          .values({
            pspReference: item.pspReference,
            eventCode: item.eventCode,
            success: item.success,
            originalReference: item.originalReference,
            merchantReference: item.merchantReference,
            merchantAccountCode: item.merchantAccountCode,
            raw: item.raw,
            receivedAt,
          })
          .onConflictDoNothing()
          .returning({ id: notificationInbox.id })
          .get();
        if (inserted) return { id: inserted.id, duplicate: false };
        const existing = tx
          .select({ id: notificationInbox.id })
          .from(notificationInbox)
          .where(
            and(
              eq(notificationInbox.pspReference, item.pspReference),
              eq(notificationInbox.eventCode, item.eventCode),
              eq(notificationInbox.success, item.success),
              eq(notificationInbox.originalReference, item.originalReference),
            ),
          )
          .get();
        return { id: existing!.id, duplicate: true };
      }),
    );
  }

  async get(id: number): Promise<StoredNotification | null> {
    const row = this.db.select().from(notificationInbox).where(eq(notificationInbox.id, id)).get();
    return row ? toNotification(row) : null;
  }

  async unapplied(pspReference?: string): Promise<StoredNotification[]> {
    return this.db
      .select()
      .from(notificationInbox)
      .where(
        pspReference === undefined
          ? isNull(notificationInbox.appliedAt)
          : and(
              isNull(notificationInbox.appliedAt),
              or(eq(notificationInbox.pspReference, pspReference), eq(notificationInbox.originalReference, pspReference)),
            ),
      )
      .orderBy(asc(notificationInbox.id))
      .all()
      .map(toNotification);
  }

  async settle(id: number, outcome: NotificationOutcome): Promise<void> {
    this.db
      .update(notificationInbox)
      .set({ appliedAt: new Date(), outcome })
      .where(and(eq(notificationInbox.id, id), isNull(notificationInbox.appliedAt)))
      .run();
  }
}

export function toNotification(row: Row): StoredNotification {
  const item = JSON.parse(row.raw) as {
    amount?: { value: number; currency: string };
    reason?: string;
    additionalData?: Record<string, string>;
  };
  return {
    id: row.id,
    eventCode: row.eventCode,
    success: row.success,
    pspReference: row.pspReference,
    originalReference: row.originalReference,
    merchantReference: row.merchantReference,
    merchantAccountCode: row.merchantAccountCode,
    amount: item.amount ?? null,
    reason: item.reason ?? null,
    additionalData: item.additionalData ?? {},
    raw: row.raw,
    receivedAt: row.receivedAt,
    appliedAt: row.appliedAt,
  };
}
