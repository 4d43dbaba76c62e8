import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ApiKeyName, PaymentId, PspReference } from "../../src/payments/ids.js";
import { newPaymentId } from "../../src/payments/ids.js";
import type { Notification } from "../../src/payments/notification.js";
import type { Payment } from "../../src/payments/payment.js";
import type { IdempotencyClaim, PaymentStore } from "../../src/payments/ports.js";
import { openStores, type Stores } from "../../src/store/index.js";
import { dropTestSchema, schemaFor, TEST_DATABASE_URL, testSchemaUrl } from "../support/database.js";
import { newPayment as paymentTerms } from "../support/stores.js";

/**
 * The stores every port contract runs against: SQLite always, PostgreSQL when TEST_DATABASE_URL is set. `open` gives a
 * fresh database; `again` opens a second set of stores on the same one, as a second instance would.
 */
export interface Backend {
  name: string;
  open(): Promise<{ stores: Stores; again(): Promise<Stores> }>;
}

const opened: Array<() => Promise<void>> = [];

/** Closes every store and drops every database a test opened; call from afterEach. */
export async function closeAll(): Promise<void> {
  for (const close of opened.splice(0).reverse()) await close();
}

async function track(stores: Promise<Stores>): Promise<Stores> {
  const open = await stores;
  opened.push(() => open.close());
  return open;
}

const sqlite: Backend = {
  name: "sqlite",
  async open() {
    const dir = mkdtempSync(join(tmpdir(), "kakaopay-store-"));
    const url = `file:${join(dir, "gateway.db")}`;
    opened.push(async () => rmSync(dir, { recursive: true, force: true }));
    return { stores: await track(openStores(url)), again: () => track(openStores(url)) };
  },
};

const postgres: Backend = {
  name: "postgres",
  async open() {
    const schema = schemaFor(mkdtempSync(join(tmpdir(), "kakaopay-store-")));
    const url = await testSchemaUrl(schema);
    opened.push(() => dropTestSchema(schema));
    return { stores: await track(openStores(url)), again: () => track(openStores(url)) };
  },
};

export const BACKENDS: Backend[] = TEST_DATABASE_URL ? [sqlite, postgres] : [sqlite];

export const OWNER = "alpha" as ApiKeyName;

let counter = 0;

/** A new KakaoPay payment row (status null, version 0), as startKakaoPayPayment writes it before calling Adyen. */
export async function newPayment(store: PaymentStore, amount = 10_000): Promise<Payment> {
  const created = await store.createPayment(draft(amount), null);
  if (created.kind !== "created") throw new Error(created.kind);
  return created.payment;
}

export function draft(amount = 10_000) {
  counter += 1;
  return paymentTerms({
    id: newPaymentId(),
    owner: OWNER,
    reference: `order-${counter}`,
    amount: { value: amount, currency: "KRW" },
    returnUrl: "https://shop.example/return",
  });
}

export function claim(key: string, requestHash = "hash-1", operation = "startKakaoPayPayment"): IdempotencyClaim {
  return { owner: OWNER, key, operation, requestHash };
}

/** A payment Adyen answered with a redirect: ACTION_REQUIRED, its pspReference known. */
export async function redirected(store: PaymentStore, amount = 10_000): Promise<Payment & { pspReference: PspReference }> {
  const payment = await newPayment(store, amount);
  counter += 1;
  const pspReference = `PSP${String(counter).padStart(13, "0")}`;
  const recorded = await store.recordSignal(
    payment.id as PaymentId,
    { source: "API", resultCode: "RedirectShopper" },
    { pspReference: pspReference as never, action: { type: "redirect" } },
  );
  return { ...recorded.payment, pspReference: pspReference as PspReference };
}

export function item(
  payment: { pspReference: string; reference: string; amount: { value: number; currency: string } },
  eventCode = "AUTHORISATION",
): Notification {
  const body = {
    eventCode,
    success: true,
    pspReference: payment.pspReference,
    merchantReference: payment.reference,
    amount: payment.amount,
  };
  return {
    eventCode,
    success: true,
    pspReference: payment.pspReference,
    originalReference: "",
    merchantReference: payment.reference,
    merchantAccountCode: "Merchant",
    amount: payment.amount,
    reason: null,
    additionalData: {},
    raw: JSON.stringify(body),
  };
}
