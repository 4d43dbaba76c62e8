CREATE TABLE `notification_inbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`psp_reference` text NOT NULL,
	`event_code` text NOT NULL,
	`success` integer NOT NULL,
	`original_reference` text DEFAULT '' NOT NULL,
	`merchant_reference` text NOT NULL,
	`merchant_account_code` text NOT NULL,
	`raw` text NOT NULL,
	`received_at` integer NOT NULL,
	`applied_at` integer,
	`outcome` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `notification_inbox_identity` ON `notification_inbox` (`psp_reference`,`event_code`,`success`,`original_reference`);--> statement-breakpoint
CREATE INDEX `notification_inbox_unapplied` ON `notification_inbox` (`psp_reference`) WHERE "notification_inbox"."applied_at" IS NULL;