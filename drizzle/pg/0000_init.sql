CREATE TABLE "idempotency_keys" (
	"owner" text NOT NULL,
	"key" text NOT NULL,
	"operation" text NOT NULL,
	"request_hash" text NOT NULL,
	"payment_id" text NOT NULL,
	"refund_id" text,
	"created_at" timestamp (3) with time zone NOT NULL,
	"completed_at" timestamp (3) with time zone,
	CONSTRAINT "idempotency_keys_owner_key_pk" PRIMARY KEY("owner","key")
);
--> statement-breakpoint
CREATE TABLE "notification_inbox" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "notification_inbox_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"psp_reference" text NOT NULL,
	"event_code" text NOT NULL,
	"success" boolean NOT NULL,
	"original_reference" text DEFAULT '' NOT NULL,
	"merchant_reference" text NOT NULL,
	"merchant_account_code" text NOT NULL,
	"raw" text NOT NULL,
	"received_at" timestamp (3) with time zone NOT NULL,
	"applied_at" timestamp (3) with time zone,
	"outcome" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "payment_events" (
	"payment_id" text NOT NULL,
	"version" integer NOT NULL,
	"status" text NOT NULL,
	"previous_status" text,
	"source" text NOT NULL,
	"event_code" text,
	"result_code" text,
	"refund_id" text,
	"refund_status" text,
	"occurred_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "payment_events_payment_id_version_pk" PRIMARY KEY("payment_id","version")
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"id" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"reference" text NOT NULL,
	"amount_value" bigint NOT NULL,
	"currency" text NOT NULL,
	"payment_method_type" text NOT NULL,
	"status" text,
	"version" integer DEFAULT 0 NOT NULL,
	"result_code" text,
	"refusal_reason" text,
	"psp_reference" text,
	"action" jsonb,
	"return_url" text,
	"country_code" text NOT NULL,
	"shopper_locale" text,
	"channel" text,
	"shopper_reference" text,
	"store_payment_method" boolean NOT NULL,
	"stored_payment_method_id" text,
	"recurring_processing_model" text,
	"authorised_by_webhook" boolean DEFAULT false NOT NULL,
	"details_submitted_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	"expired_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "refunds" (
	"id" text PRIMARY KEY NOT NULL,
	"payment_id" text NOT NULL,
	"amount_value" bigint NOT NULL,
	"currency" text NOT NULL,
	"reference" text NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	"psp_reference" text,
	"source" text NOT NULL,
	"next_send_at" timestamp (3) with time zone,
	"send_attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stored_payment_methods" (
	"id" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"shopper_reference" text NOT NULL,
	"type" text NOT NULL,
	"original_payment_id" text,
	"active" boolean NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"disabled_at" timestamp (3) with time zone
);
--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_payment_id_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_events" ADD CONSTRAINT "payment_events_payment_id_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_payment_id_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stored_payment_methods" ADD CONSTRAINT "stored_payment_methods_original_payment_id_payments_id_fk" FOREIGN KEY ("original_payment_id") REFERENCES "payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "notification_inbox_identity" ON "notification_inbox" USING btree ("psp_reference","event_code","success","original_reference");--> statement-breakpoint
CREATE INDEX "notification_inbox_unapplied" ON "notification_inbox" USING btree ("psp_reference") WHERE "notification_inbox"."applied_at" IS NULL;--> statement-breakpoint
CREATE INDEX "notification_inbox_unapplied_original" ON "notification_inbox" USING btree ("original_reference") WHERE "notification_inbox"."applied_at" IS NULL;--> statement-breakpoint
CREATE INDEX "notification_inbox_pending" ON "notification_inbox" USING btree ("id") WHERE "notification_inbox"."applied_at" IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "payments_psp_reference" ON "payments" USING btree ("psp_reference");--> statement-breakpoint
CREATE INDEX "payments_awaiting_psp" ON "payments" USING btree ("reference") WHERE "payments"."psp_reference" IS NULL AND "payments"."expired_at" IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "refunds_psp_reference" ON "refunds" USING btree ("psp_reference");--> statement-breakpoint
CREATE INDEX "refunds_payment" ON "refunds" USING btree ("payment_id");--> statement-breakpoint
CREATE INDEX "refunds_due" ON "refunds" USING btree ("next_send_at") WHERE "refunds"."next_send_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "stored_payment_methods_shopper" ON "stored_payment_methods" USING btree ("owner","shopper_reference");