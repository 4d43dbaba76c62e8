import type Database from "better-sqlite3";
import { getTableColumns, getTableName } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import { paymentEvents, payments, refunds } from "./schema.js";

/**
 * The reads payment(id) and its fields make (a payment, its events, its refunds) as better-sqlite3 statements of
 * their own, in array mode, each row decoded by hand into the row drizzle would return: ~6 µs a payment where
 * drizzle's placeholder filling and row mapping made it ~9 µs, and better-sqlite3's object mode would add ~4.5 µs
 * (BENCHMARKS.md, scenario 2). rows.ts then maps these rows as it maps drizzle's.
 */
export function prepareRowReads(client: Database.Database) {
  const payment = select(client, payments, PAYMENT_COLUMNS, `WHERE "id" = ?`);
  const events = select(client, paymentEvents, EVENT_COLUMNS, `WHERE "payment_id" = ? AND "version" > ? ORDER BY "version"`);
  const refundsOf = select(client, refunds, REFUND_COLUMNS, `WHERE "payment_id" = ? ORDER BY "created_at", rowid`);
  return {
    payment(id: string): typeof payments.$inferSelect | undefined {
      const row = payment.get(id);
      return row && paymentRow(row);
    },
    events(paymentId: string, afterVersion: number): (typeof paymentEvents.$inferSelect)[] {
      return events.all(paymentId, afterVersion).map(eventRow);
    },
    refunds(paymentId: string): (typeof refunds.$inferSelect)[] {
      return refundsOf.all(paymentId).map(refundRow);
    },
  };
}

/**
 * A statement selecting every column of `table` in schema.ts's order, the order in which its decoding below reads
 * the cells; `count` is how many that decoding expects, so a column added to the table stops the start until it is
 * decoded here too.
 */
function select(client: Database.Database, table: SQLiteTable, count: number, rest: string) {
  const columns = Object.values(getTableColumns(table));
  if (columns.length !== count) throw new Error(`raw-read.ts decodes ${count} columns of ${getTableName(table)}, not ${columns.length}`);
  const list = columns.map((column) => `"${column.name}"`).join(", ");
  return client.prepare<unknown[], unknown[]>(`SELECT ${list} FROM "${getTableName(table)}" ${rest}`).raw();
}

/** A row of `N` cells, in schema.ts's order. Each is typed as the field it fills: its column's type says what SQLite returns. */
type Cells<N extends number, R extends Cell[] = []> = R["length"] extends N ? R : Cells<N, [...R, Cell]>;
type Cell = never;
const date = (value: number | null): Date | null => (value === null ? null : new Date(value));

const PAYMENT_COLUMNS = 25;

function paymentRow(row: unknown[]): typeof payments.$inferSelect {
  const r = row as Cells<typeof PAYMENT_COLUMNS>;
  return {
    id: r[0],
    owner: r[1],
    reference: r[2],
    amountValue: r[3],
    currency: r[4],
    paymentMethodType: r[5],
    status: r[6],
    version: r[7],
    resultCode: r[8],
    refusalReason: r[9],
    pspReference: r[10],
    action: r[11] === null ? null : JSON.parse(r[11]),
    returnUrl: r[12],
    countryCode: r[13],
    shopperLocale: r[14],
    channel: r[15],
    shopperReference: r[16],
    storePaymentMethod: r[17] === 1,
    storedPaymentMethodId: r[18],
    recurringProcessingModel: r[19],
    authorisedByWebhook: r[20] === 1,
    detailsSubmittedAt: date(r[21]),
    createdAt: new Date(r[22]),
    updatedAt: new Date(r[23]),
    expiredAt: date(r[24]),
  };
}

const EVENT_COLUMNS = 10;

function eventRow(row: unknown[]): typeof paymentEvents.$inferSelect {
  const r = row as Cells<typeof EVENT_COLUMNS>;
  return {
    paymentId: r[0],
    version: r[1],
    status: r[2],
    previousStatus: r[3],
    source: r[4],
    eventCode: r[5],
    resultCode: r[6],
    refundId: r[7],
    refundStatus: r[8],
    occurredAt: new Date(r[9]),
  };
}

const REFUND_COLUMNS = 13;

function refundRow(row: unknown[]): typeof refunds.$inferSelect {
  const r = row as Cells<typeof REFUND_COLUMNS>;
  return {
    id: r[0],
    paymentId: r[1],
    amountValue: r[2],
    currency: r[3],
    reference: r[4],
    status: r[5],
    reason: r[6],
    pspReference: r[7],
    source: r[8],
    nextSendAt: date(r[9]),
    sendAttempts: r[10],
    createdAt: new Date(r[11]),
    updatedAt: new Date(r[12]),
  };
}
