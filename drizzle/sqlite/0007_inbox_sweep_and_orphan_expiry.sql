DROP INDEX `payments_awaiting_psp`;--> statement-breakpoint
ALTER TABLE `payments` ADD `expired_at` integer;--> statement-breakpoint
CREATE INDEX `payments_awaiting_psp` ON `payments` (`reference`) WHERE "payments"."psp_reference" IS NULL AND "payments"."expired_at" IS NULL;--> statement-breakpoint
ALTER TABLE `notification_inbox` ADD `attempts` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `notification_inbox` ADD `next_attempt_at` integer;--> statement-breakpoint
CREATE INDEX `notification_inbox_pending` ON `notification_inbox` (`id`) WHERE "notification_inbox"."applied_at" IS NULL;