/** The PostgreSQL twin of ../sqlite/schema.ts (docs/stack.md #13): same tables, columns and keys, native types. */
import { sql } from "drizzle-orm";
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

export const payments = pgTable(
  "payments",
  {
    id: text("id").primaryKey(),
    owner: text("owner").notNull(),
    reference: text("reference").notNull(),
    amountValue: bigint("amount_value", { mode: "number" }).notNull(),
    currency: text("currency").notNull(),
    paymentMethodType: text("payment_method_type").notNull(),
    status: text("status"),
    version: integer("version").notNull().default(0),
    resultCode: text("result_code"),
    refusalReason: text("refusal_reason"),
    pspReference: text("psp_reference"),
    action: jsonb("action"),
    returnUrl: text("return_url"),
    countryCode: text("country_code").notNull(),
    shopperLocale: text("shopper_locale"),
    channel: text("channel"),
    shopperReference: text("shopper_reference"),
    storePaymentMethod: boolean("store_payment_method").notNull(),
    storedPaymentMethodId: text("stored_payment_method_id"),
    recurringProcessingModel: text("recurring_processing_model"),
    authorisedByWebhook: boolean("authorised_by_webhook").notNull().default(false),
    detailsSubmittedAt: timestamp("details_submitted_at", { withTimezone: true, precision: 3 }),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull(),
    /**
     * Set on a row whose /payments call failed for good (status null, no pspReference) once it is older than
     * PAYMENT_SESSION_LIFETIME_MS: it stays invisible, and no webhook is matched to it by reference.
     */
    expiredAt: timestamp("expired_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [
    uniqueIndex("payments_psp_reference").on(t.pspReference),
    // Webhooks that beat Adyen's /payments answer are matched on the merchant's reference.
    index("payments_awaiting_psp").on(t.reference).where(sql`${t.pspReference} IS NULL AND ${t.expiredAt} IS NULL`),
  ],
);

export const paymentEvents = pgTable(
  "payment_events",
  {
    paymentId: text("payment_id")
      .notNull()
      .references(() => payments.id),
    version: integer("version").notNull(),
    status: text("status").notNull(),
    previousStatus: text("previous_status"),
    source: text("source").notNull(),
    eventCode: text("event_code"),
    resultCode: text("result_code"),
    /** Set when the change is a refund's: which refund, and what the change made it. */
    refundId: text("refund_id"),
    refundStatus: text("refund_status"),
    occurredAt: timestamp("occurred_at", { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.paymentId, t.version] })],
);

/** Refunds of captured payments; every change of one is also a payment event (docs/contract.md, Refund rules). */
export const refunds = pgTable(
  "refunds",
  {
    id: text("id").primaryKey(),
    paymentId: text("payment_id")
      .notNull()
      .references(() => payments.id),
    amountValue: bigint("amount_value", { mode: "number" }).notNull(),
    currency: text("currency").notNull(),
    reference: text("reference").notNull(),
    status: text("status").notNull(),
    reason: text("reason"),
    pspReference: text("psp_reference"),
    source: text("source").notNull(),
    /** Until Adyen answers an API refund: when the gateway sends it (again). Null once answered. */
    nextSendAt: timestamp("next_send_at", { withTimezone: true, precision: 3 }),
    sendAttempts: integer("send_attempts").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [
    uniqueIndex("refunds_psp_reference").on(t.pspReference),
    index("refunds_payment").on(t.paymentId),
    index("refunds_due").on(t.nextSendAt).where(sql`${t.nextSendAt} IS NOT NULL`),
  ],
);

export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    owner: text("owner").notNull(),
    key: text("key").notNull(),
    operation: text("operation").notNull(),
    requestHash: text("request_hash").notNull(),
    paymentId: text("payment_id")
      .notNull()
      .references(() => payments.id),
    /** The refund a refundPayment key made (paymentId is then the refunded payment). */
    refundId: text("refund_id"),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull(),
    /** Set once the operation's result is recorded: a repeat then gets it without calling Adyen. */
    completedAt: timestamp("completed_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [primaryKey({ columns: [t.owner, t.key] })],
);

/**
 * Every webhook item we acknowledged, stored before the answer. The unique key makes a redelivery a no-op;
 * `appliedAt` is set in the same transaction as the change it caused, so an item is applied once.
 */
export const notificationInbox = pgTable(
  "notification_inbox",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    pspReference: text("psp_reference").notNull(),
    eventCode: text("event_code").notNull(),
    success: boolean("success").notNull(),
    originalReference: text("original_reference").notNull().default(""),
    merchantReference: text("merchant_reference").notNull(),
    merchantAccountCode: text("merchant_account_code").notNull(),
    raw: text("raw").notNull(),
    receivedAt: timestamp("received_at", { withTimezone: true, precision: 3 }).notNull(),
    appliedAt: timestamp("applied_at", { withTimezone: true, precision: 3 }),
    outcome: text("outcome"),
    /** Sweeps that took the item; the next may not before `nextAttemptAt` (backoff shared by every instance). */
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [
    uniqueIndex("notification_inbox_identity").on(t.pspReference, t.eventCode, t.success, t.originalReference),
    index("notification_inbox_unapplied").on(t.pspReference).where(sql`${t.appliedAt} IS NULL`),
    // RECURRING_CONTRACT waits for the payment it names as originalReference.
    index("notification_inbox_unapplied_original").on(t.originalReference).where(sql`${t.appliedAt} IS NULL`),
    // The sweep pages through unapplied items by id without reading the applied ones.
    index("notification_inbox_pending").on(t.id).where(sql`${t.appliedAt} IS NULL`),
  ],
);

/** Recurring tokens: the id is Adyen's token (the RECURRING_CONTRACT pspReference). */
export const storedPaymentMethods = pgTable(
  "stored_payment_methods",
  {
    id: text("id").primaryKey(),
    owner: text("owner").notNull(),
    shopperReference: text("shopper_reference").notNull(),
    type: text("type").notNull(),
    originalPaymentId: text("original_payment_id").references(() => payments.id),
    active: boolean("active").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull(),
    disabledAt: timestamp("disabled_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [index("stored_payment_methods_shopper").on(t.owner, t.shopperReference)],
);

/** Who runs the work a key names (an Adyen call for one payment) until when; see PaymentStore.takeLease. */
export const leases = pgTable("leases", {
  key: text("key").primaryKey(),
  holder: text("holder").notNull(),
  expiresAt: timestamp("expires_at", { withTimezone: true, precision: 3 }).notNull(),
});
