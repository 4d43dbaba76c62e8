CREATE TABLE `stored_payment_methods` (
	`id` text PRIMARY KEY NOT NULL,
	`owner` text NOT NULL,
	`shopper_reference` text NOT NULL,
	`type` text NOT NULL,
	`original_payment_id` text,
	`active` integer NOT NULL,
	`created_at` integer NOT NULL,
	`disabled_at` integer,
	FOREIGN KEY (`original_payment_id`) REFERENCES `payments`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `stored_payment_methods_shopper` ON `stored_payment_methods` (`owner`,`shopper_reference`);