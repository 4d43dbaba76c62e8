ALTER TABLE `payments` ADD `authorised_by_webhook` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `payments` ADD `details_submitted_at` integer;--> statement-breakpoint
UPDATE `payments` SET `authorised_by_webhook` = true WHERE `psp_reference` IN (SELECT `psp_reference` FROM `notification_inbox` WHERE `event_code` = 'AUTHORISATION' AND `success` = 1 AND `outcome` IN ('applied', 'no_change'));--> statement-breakpoint
UPDATE `payments` SET `details_submitted_at` = `updated_at` WHERE `id` IN (SELECT `payment_id` FROM `payment_events` WHERE `source` = 'REDIRECT');
