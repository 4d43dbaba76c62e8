/** The store's public face: open a database and get the repositories behind the domain's ports. */
import { PAYMENT_SESSION_LIFETIME_MS } from "../payments/payment.js";
import type { NotificationInbox, PaymentStore, RefundStore, StoredPaymentMethodStore } from "../payments/ports.js";
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

/** `file:PATH` (docs/contract.md, DATABASE_URL) -> the SQLite stores, migrated. */
export function openStores(databaseUrl: string, options: { sessionLifetimeMs?: number } = {}): Stores {
  const db = openSqlite(databaseUrl.slice("file:".length));
  const writes = new GroupCommit(db);
  return {
    payments: new SqlitePaymentStore(db, writes, options.sessionLifetimeMs ?? PAYMENT_SESSION_LIFETIME_MS),
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
