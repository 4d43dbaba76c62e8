/** The store's public face: open a database and get the repositories behind the domain's ports. */
import { PAYMENT_SESSION_LIFETIME_MS } from "../payments/payment.js";
import type { NotificationInbox, PaymentStore, RefundStore, StoredPaymentMethodStore } from "../payments/ports.js";
import { openPostgres } from "./pg/database.js";
import { PgNotificationInbox } from "./pg/notification-inbox.js";
import { PgPaymentStore } from "./pg/payment-store.js";
import { PgRefundStore } from "./pg/refund-store.js";
import { PgStoredPaymentMethodStore } from "./pg/stored-payment-methods.js";
import { openSqlite } from "./sqlite/database.js";
import { GroupCommit } from "./sqlite/group-commit.js";
import { SqliteNotificationInbox } from "./sqlite/notification-inbox.js";
import { SqlitePaymentStore } from "./sqlite/payment-store.js";
import { SqliteRefundStore } from "./sqlite/refund-store.js";
import { SqliteStoredPaymentMethodStore } from "./sqlite/stored-payment-methods.js";

export interface Stores {
  payments: PaymentStore;
  inbox: NotificationInbox;
  storedPaymentMethods: StoredPaymentMethodStore;
  refunds: RefundStore;
  close(): Promise<void>;
}

export interface StoreOptions {
  sessionLifetimeMs?: number;
}

/** PostgreSQL connections per instance (README, Running on PostgreSQL). */
const POOL_SIZE = 10;

/**
 * `file:PATH` (SQLite) or `postgres://…` (PostgreSQL) -> the stores, migrated (docs/contract.md, DATABASE_URL).
 * Rejects when PostgreSQL cannot be reached or migrated.
 */
export async function openStores(databaseUrl: string, options: StoreOptions = {}): Promise<Stores> {
  const sessionLifetimeMs = options.sessionLifetimeMs ?? PAYMENT_SESSION_LIFETIME_MS;
  if (!databaseUrl.startsWith("file:")) {
    const db = await openPostgres(databaseUrl, POOL_SIZE);
    return {
      payments: new PgPaymentStore(db, sessionLifetimeMs),
      inbox: new PgNotificationInbox(db),
      storedPaymentMethods: new PgStoredPaymentMethodStore(db),
      refunds: new PgRefundStore(db),
      close: () => db.$client.end(),
    };
  }
  return openSqliteStores(databaseUrl.slice("file:".length), sessionLifetimeMs);
}

/** The SQLite stores on a file (or `:memory:`), migrated; synchronous, for one process. */
export function openSqliteStores(path: string, sessionLifetimeMs = PAYMENT_SESSION_LIFETIME_MS): Stores {
  const db = openSqlite(path);
  const writes = new GroupCommit(db);
  return {
    payments: new SqlitePaymentStore(db, writes, sessionLifetimeMs),
    inbox: new SqliteNotificationInbox(db, writes),
    storedPaymentMethods: new SqliteStoredPaymentMethodStore(db, writes),
    refunds: new SqliteRefundStore(db, writes),
    close: async () => {
      writes.close();
      // Fold the WAL back into the database file, so a stopped gateway leaves one self-contained file.
      db.$client.pragma("wal_checkpoint(TRUNCATE)");
      db.$client.close();
    },
  };
}
