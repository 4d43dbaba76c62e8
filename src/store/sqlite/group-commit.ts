import type { Transaction } from "better-sqlite3";
import type { SqliteDatabase } from "./database.js";

interface PendingWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Group commit: every write asked for in one turn of the event loop runs in one synchronous=FULL transaction, each in
 * its own savepoint, and every caller hears back only after that transaction is on disk. One fsync then serves many
 * webhooks and payments, while a failing write rolls back alone.
 */
export class GroupCommit {
  private pending: PendingWrite[] = [];
  private scheduled = false;
  private closed = false;
  // better-sqlite3's transaction functions, made once: they keep their BEGIN/SAVEPOINT statements prepared, and one
  // called inside another becomes a savepoint.
  private readonly commitBatch: Transaction<(batch: PendingWrite[], outcomes: Outcome[]) => void>;
  private readonly inSavepoint: Transaction<(run: () => unknown) => unknown>;

  constructor(db: SqliteDatabase) {
    this.inSavepoint = db.$client.transaction((run: () => unknown) => run());
    this.commitBatch = db.$client.transaction((batch: PendingWrite[], outcomes: Outcome[]) => {
      for (const write of batch) {
        try {
          outcomes.push({ ok: true, value: this.inSavepoint(write.run) });
        } catch (error) {
          outcomes.push({ ok: false, error });
        }
      }
    });
  }

  /** Runs `run` (statements on the store's connection) in the next group transaction. */
  write<T>(run: () => T): Promise<T> {
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
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const outcomes: Outcome[] = [];
    try {
      this.commitBatch(batch, outcomes);
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
