CREATE TABLE `idempotency_keys` (
	`owner` text NOT NULL,
	`key` text NOT NULL,
	`operation` text NOT NULL,
	`request_hash` text NOT NULL,
	`payment_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`owner`, `key`),
	FOREIGN KEY (`payment_id`) REFERENCES `payments`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `payment_events` (
	`payment_id` text NOT NULL,
	`version` integer NOT NULL,
	`status` text NOT NULL,
	`previous_status` text,
	`source` text NOT NULL,
	`event_code` text,
	`result_code` text,
	`occurred_at` integer NOT NULL,
	PRIMARY KEY(`payment_id`, `version`),
	FOREIGN KEY (`payment_id`) REFERENCES `payments`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `payments` (
	`id` text PRIMARY KEY NOT NULL,
	`owner` text NOT NULL,
	`reference` text NOT NULL,
	`amount_value` integer NOT NULL,
	`currency` text NOT NULL,
	`payment_method_type` text NOT NULL,
	`status` text,
	`version` integer DEFAULT 0 NOT NULL,
	`result_code` text,
	`refusal_reason` text,
	`psp_reference` text,
	`action` text,
	`return_url` text,
	`country_code` text NOT NULL,
	`shopper_locale` text,
	`channel` text,
	`shopper_reference` text,
	`store_payment_method` integer NOT NULL,
	`stored_payment_method_id` text,
	`recurring_processing_model` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `payments_psp_reference` ON `payments` (`psp_reference`);--> statement-breakpoint
CREATE INDEX `payments_awaiting_psp` ON `payments` (`reference`) WHERE "payments"."psp_reference" IS NULL;