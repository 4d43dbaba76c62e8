import { and, asc, count, eq, gt, isNull, lte, or, sql } from "drizzle-orm";
import { toNotification } from "../rows.js";
import type { Notification, NotificationOutcome, StoredNotification } from "../../payments/notification.js";
import type { NotificationInbox } from "../../payments/ports.js";
import { type SqliteDatabase, setPlaceholder } from "./database.js";
import type { GroupCommit } from "./group-commit.js";
import { notificationInbox } from "./schema.js";

/** NotificationInbox on SQLite: saved through the group commit, so an acknowledged item is on disk (synchronous=FULL). */
export class SqliteNotificationInbox implements NotificationInbox {
  private readonly q: ReturnType<typeof prepareQueries>;

  constructor(
    db: SqliteDatabase,
    private readonly writes: GroupCommit,
  ) {
    this.q = prepareQueries(db);
  }

  async save(items: Notification[]): Promise<Array<{ id: number; duplicate: boolean }>> {
    const receivedAt = new Date();
    return this.writes.write(() =>
      items.map((item) => {
        const identity = {
          pspReference: item.pspReference,
          eventCode: item.eventCode,
          success: item.success,
          originalReference: item.originalReference,
        };
        const inserted = this.q.insert.get({
          ...identity,
          merchantReference: item.merchantReference,
          merchantAccountCode: item.merchantAccountCode,
          raw: item.raw,
          receivedAt,
        });
        if (inserted) return { id: inserted.id, duplicate: false };
        // A placeholder in a where clause is bound as given, not through the column's boolean encoder.
        return { id: this.q.idByIdentity.get({ ...identity, success: Number(item.success) })!.id, duplicate: true };
      }),
    );
  }

  async unapplied(pspReference: string): Promise<StoredNotification[]> {
    // Two indexed lookups: SQLite scans the whole inbox for "psp_reference = ? OR original_reference = ?".
    const rows = [...this.q.unappliedByPsp.all({ pspReference }), ...this.q.unappliedByOriginal.all({ pspReference })];
    return rows.sort((a, b) => a.id - b.id).map(toNotification);
  }

  async countUnapplied(): Promise<number> {
    return this.q.countUnapplied.get()?.count ?? 0;
  }

  async take(
    now: Date,
    afterId: number,
    limit: number,
    backoff: { backoffMs: number; maxBackoffMs: number },
  ): Promise<StoredNotification[]> {
    return this.writes.write(() => {
      // A placeholder in a where clause is bound as given, not through the column's timestamp encoder.
      const rows = this.q.due.all({ now: now.getTime(), afterId, limit });
      for (const row of rows) this.q.defer.run({ id: row.id, now: now.getTime(), ...backoff });
      return rows.map(toNotification);
    });
  }

  async settle(id: number, outcome: NotificationOutcome): Promise<void> {
    await this.writes.write(() => this.q.settle.run({ id, outcome, now: new Date() }));
  }
}

/** Every statement prepared once (see payment-store.ts). */
function prepareQueries(db: SqliteDatabase) {
  const p = sql.placeholder;
  return {
    insert: db
      .insert(notificationInbox)
      .values({
        pspReference: p("pspReference"),
        eventCode: p("eventCode"),
        success: p("success"),
        originalReference: p("originalReference"),
        merchantReference: p("merchantReference"),
        merchantAccountCode: p("merchantAccountCode"),
        raw: p("raw"),
        receivedAt: p("receivedAt"),
      })
      .onConflictDoNothing()
      .returning({ id: notificationInbox.id })
      .prepare(),
    idByIdentity: db
      .select({ id: notificationInbox.id })
      .from(notificationInbox)
      .where(
        and(
          eq(notificationInbox.pspReference, p("pspReference")),
          eq(notificationInbox.eventCode, p("eventCode")),
          eq(notificationInbox.success, p("success")),
          eq(notificationInbox.originalReference, p("originalReference")),
        ),
      )
      .prepare(),
    countUnapplied: db.select({ count: count() }).from(notificationInbox).where(isNull(notificationInbox.appliedAt)).prepare(),
    due: db
      .select()
      .from(notificationInbox)
      .where(
        and(
          isNull(notificationInbox.appliedAt),
          gt(notificationInbox.id, p("afterId")),
          or(isNull(notificationInbox.nextAttemptAt), lte(notificationInbox.nextAttemptAt, p("now"))),
        ),
      )
      .orderBy(asc(notificationInbox.id))
      .limit(p("limit"))
      .prepare(),
    // The shift is capped so that the doubling cannot overflow however often an item was tried.
    defer: db
      .update(notificationInbox)
      .set({
        attempts: sql`${notificationInbox.attempts} + 1`,
        nextAttemptAt: sql`${p("now")} + min(${p("backoffMs")} * (1 << min(${notificationInbox.attempts}, 30)), ${p("maxBackoffMs")})`,
      })
      .where(and(eq(notificationInbox.id, p("id")), isNull(notificationInbox.appliedAt)))
      .prepare(),
    unappliedByPsp: db
      .select()
      .from(notificationInbox)
      .where(and(isNull(notificationInbox.appliedAt), eq(notificationInbox.pspReference, p("pspReference"))))
      .prepare(),
    unappliedByOriginal: db
      .select()
      .from(notificationInbox)
      .where(and(isNull(notificationInbox.appliedAt), eq(notificationInbox.originalReference, p("pspReference"))))
      .prepare(),
    settle: db
      .update(notificationInbox)
      .set({ appliedAt: setPlaceholder("now"), outcome: setPlaceholder("outcome") })
      .where(and(eq(notificationInbox.id, p("id")), isNull(notificationInbox.appliedAt)))
      .prepare(),
  };
}
