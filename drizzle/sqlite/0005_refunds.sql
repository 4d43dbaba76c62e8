CREATE TABLE `refunds` (
	`id` text PRIMARY KEY NOT NULL,
	`payment_id` text NOT NULL,
	`amount_value` integer NOT NULL,
	`currency` text NOT NULL,
	`reference` text NOT NULL,
	`status` text NOT NULL,
	`reason` text,
	`psp_reference` text,
	`source` text NOT NULL,
	`next_send_at` integer,
	`send_attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`payment_id`) REFERENCES `payments`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `refunds_psp_reference` ON `refunds` (`psp_reference`);--> statement-breakpoint
CREATE INDEX `refunds_payment` ON `refunds` (`payment_id`);--> statement-breakpoint
CREATE INDEX `refunds_due` ON `refunds` (`next_send_at`) WHERE "refunds"."next_send_at" IS NOT NULL;--> statement-breakpoint
ALTER TABLE `idempotency_keys` ADD `refund_id` text;--> statement-breakpoint
ALTER TABLE `payment_events` ADD `refund_id` text;--> statement-breakpoint
ALTER TABLE `payment_events` ADD `refund_status` text;