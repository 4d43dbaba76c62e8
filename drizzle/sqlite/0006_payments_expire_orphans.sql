DROP INDEX `payments_awaiting_psp`;--> statement-breakpoint
ALTER TABLE `payments` ADD `expired_at` integer;--> statement-breakpoint
CREATE INDEX `payments_awaiting_psp` ON `payments` (`reference`) WHERE "payments"."psp_reference" IS NULL AND "payments"."expired_at" IS NULL;