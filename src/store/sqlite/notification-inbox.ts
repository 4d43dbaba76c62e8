import type { Statement } from "better-sqlite3";
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
  private readonly inserts: InboxInserts;

  constructor(
    db: SqliteDatabase,
    private readonly writes: GroupCommit,
  ) {
    this.q = prepareQueries(db);
    this.inserts = new InboxInserts(db);
  }

  async save(items: Notification[]): Promise<Array<{ id: number; duplicate: boolean }>> {
    const receivedAt = new Date();
    return this.writes.write(() => items.map((item) => this.inserts.insert(item, receivedAt, null)));
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

/**
 * Storing an item, on better-sqlite3's statements directly: the webhook path's hottest write, where drizzle's parameter
 * filling cost more than the insert (BENCHMARKS.md, scenario 3). Shared by the inbox and by receiveSignal.
 */
export class InboxInserts {
  private readonly insertRow: Statement<InboxRow, { id: number }>;
  private readonly idByIdentity: Statement<Pick<InboxRow, "pspReference" | "eventCode" | "success" | "originalReference">, { id: number }>;

  constructor(db: SqliteDatabase) {
    this.insertRow = db.$client.prepare(
      `insert into notification_inbox
         (psp_reference, event_code, success, original_reference, merchant_reference, merchant_account_code, raw, received_at, applied_at, outcome)
       values (@pspReference, @eventCode, @success, @originalReference, @merchantReference, @merchantAccountCode, @raw, @receivedAt, @appliedAt, @outcome)
       on conflict do nothing returning id`,
    );
    this.idByIdentity = db.$client.prepare(
      `select id from notification_inbox
       where psp_reference = @pspReference and event_code = @eventCode and success = @success and original_reference = @originalReference`,
    );
  }

  /** Inserts the item, settled with `settled` when given; an item stored before is left as it is and named a duplicate. */
  insert(
    item: Notification,
    receivedAt: Date,
    settled: { at: Date; outcome: NotificationOutcome } | null,
  ): { id: number; duplicate: boolean } {
    const identity = {
      pspReference: item.pspReference,
      eventCode: item.eventCode,
      success: item.success ? 1 : 0,
      originalReference: item.originalReference,
    };
    const inserted = this.insertRow.get({
      ...identity,
      merchantReference: item.merchantReference,
      merchantAccountCode: item.merchantAccountCode,
      raw: item.raw,
      receivedAt: receivedAt.getTime(),
      appliedAt: settled ? settled.at.getTime() : null,
      outcome: settled ? settled.outcome : null,
    });
    if (inserted) return { id: inserted.id, duplicate: false };
    return { id: this.idByIdentity.get(identity)!.id, duplicate: true };
  }
}

interface InboxRow {
  pspReference: string;
  eventCode: string;
  success: number;
  originalReference: string;
  merchantReference: string;
  merchantAccountCode: string;
  raw: string;
  receivedAt: number;
  appliedAt: number | null;
  outcome: NotificationOutcome | null;
}

/** Every statement prepared once (see payment-store.ts). */
function prepareQueries(db: SqliteDatabase) {
  const p = sql.placeholder;
  return {
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
