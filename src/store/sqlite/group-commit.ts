import type { SqliteDatabase } from "./database.js";

/** The transaction handle a write runs in (a savepoint inside the group's transaction). */
export type SqliteTransaction = Parameters<Parameters<SqliteDatabase["transaction"]>[0]>[0];

interface PendingWrite {
  run: (tx: SqliteTransaction) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: every write asked for in one turn of the event loop runs in one synchronous=FULL transaction, each in
 * its own savepoint, and every caller hears back only after that transaction is on disk. One fsync then serves many
 * webhooks and payments, while a failing write rolls back alone.
 */
export class GroupCommit {
  private pending: PendingWrite[] = [];
  private scheduled = false;
  private closed = false;

  constructor(private readonly db: SqliteDatabase) {}

  write<T>(run: (tx: SqliteTransaction) => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error("the database is closed"));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.commit());
      }
    });
  }

  /** Commits what is pending now; later writes are refused. */
  close(): void {
    this.commit();
    this.closed = true;
  }

  private commit(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      this.db.transaction((tx) => {
        for (const write of batch) {
          try {
            outcomes.push({ ok: true, value: tx.transaction((savepoint) => write.run(savepoint)) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      // The commit itself failed (e.g. the disk): nothing of the batch is stored.
      for (const write of batch) write.reject(error);
      return;
    }
    batch.forEach((write, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) write.resolve(outcome.value);
      else write.reject(outcome.error);
    });
  }
}
