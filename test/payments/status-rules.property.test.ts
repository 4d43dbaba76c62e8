import { memoryLogger } from "../support/logger.js";
import fc from "fast-check";
import { newPayment } from "../support/stores.js";
import { describe, expect, it } from "vitest";
import type { PaymentId, PspReference } from "../../src/payments/ids.js";
import type { Notification } from "../../src/payments/notification.js";
import type { StatusEvents } from "../../src/payments/ports.js";
import type { PaymentSignal } from "../../src/payments/transitions.js";
import { PaymentWebhooks } from "../../src/payments/webhooks.js";
import { openSqliteStores } from "../../src/store/index.js";

/** One thing that can happen to a redirect payment (of 1000 KRW) after Adyen answered RedirectShopper. */
type Happening =
  | { kind: "webhook"; eventCode: "AUTHORISATION"; success: boolean; amountValue: 1000 | 1 }
  | { kind: "webhook"; eventCode: "OFFER_CLOSED" }
  | { kind: "redirect"; resultCode: "Authorised" | "Refused" | "Cancelled" | "Error" | "Pending" | "Received" };

const happening: fc.Arbitrary<Happening> = fc.oneof(
  fc
    .record({ success: fc.boolean(), amountValue: fc.constantFrom(1000 as const, 1000 as const, 1 as const) })
    .map(({ success, amountValue }) => ({ kind: "webhook" as const, eventCode: "AUTHORISATION" as const, success, amountValue })),
  fc.constant({ kind: "webhook" as const, eventCode: "OFFER_CLOSED" as const }),
  fc
    .constantFrom("Authorised", "Refused", "Cancelled", "Error", "Pending", "Received" as const)
    .map((resultCode) => ({ kind: "redirect" as const, resultCode })),
);

/** Any order, with any item possibly delivered again later (as Adyen and apps retry). */
const history = fc
  .array(happening, { maxLength: 8 })
  .chain((items) =>
    fc
      .array(fc.nat({ max: Math.max(items.length - 1, 0) }), { maxLength: items.length === 0 ? 0 : 4 })
      .chain((repeats) => fc.shuffledSubarray([...items, ...repeats.map((i) => items[i]!)], { minLength: items.length + repeats.length })),
  );

type Status = "ACTION_REQUIRED" | "PENDING" | "AUTHORISED" | "REFUSED" | "CANCELLED" | "ERROR" | "EXPIRED";
const SETTLED: readonly Status[] = ["AUTHORISED", "REFUSED", "CANCELLED", "ERROR", "EXPIRED"];
const REDIRECT_OUTCOME: Record<string, Status> = {
  Authorised: "AUTHORISED",
  Refused: "REFUSED",
  Cancelled: "CANCELLED",
  Error: "ERROR",
  Pending: "PENDING",
  Received: "PENDING",
};

/**
 * The rules of docs/contract.md, written independently of src/: a webhook applies once per identity and only for the
 * payment's amount; AUTHORISATION true is the final word; false refuses a non-final payment and one AUTHORISED only by
 * the shopper's return (a contradiction, counted, as is a false after a true); the details are answered once; a failed
 * redirect refines a REFUSED; OFFER_CLOSED expires a non-final payment.
 */
function expected(items: Happening[]): { statuses: Status[]; anomalies: string[] } {
  const statuses: Status[] = ["ACTION_REQUIRED"];
  const anomalies: string[] = [];
  const seenWebhooks = new Set<string>();
  let byWebhook = false;
  let detailsAnswered = false;
  for (const item of items) {
    const current = statuses.at(-1)!;
    const settled = SETTLED.includes(current);
    let next: Status = current;
    if (item.kind === "webhook") {
      const identity = `${item.eventCode}:${item.eventCode === "AUTHORISATION" ? item.success : true}`;
      if (seenWebhooks.has(identity)) continue;
      seenWebhooks.add(identity);
      if (item.eventCode === "OFFER_CLOSED") {
        if (!settled) next = "EXPIRED";
      } else if (item.amountValue !== 1000) {
        anomalies.push("amount_mismatch");
      } else if (item.success) {
        next = "AUTHORISED";
        byWebhook = true;
      } else if (current === "AUTHORISED") {
        anomalies.push("refused_after_authorised");
        if (!byWebhook) next = "REFUSED";
      } else if (!settled) {
        next = "REFUSED";
      }
    } else if (!detailsAnswered) {
      detailsAnswered = true;
      const outcome = REDIRECT_OUTCOME[item.resultCode]!;
      if (!settled) next = outcome;
      else if (current === "REFUSED" && ["REFUSED", "CANCELLED", "ERROR"].includes(outcome)) next = outcome;
    }
    if (next !== current) statuses.push(next);
  }
  return { statuses, anomalies };
}

describe("status rules, for any order and duplication of webhooks and redirect results", () => {
  it("end where docs/contract.md says, with versions that never skip or repeat, through the real store and inbox", async () => {
    await fc.assert(
      fc.asyncProperty(history, async (items) => {
        const stores = openSqliteStores(":memory:");
        const published: number[] = [];
        const counted: string[] = [];
        const events: StatusEvents = { publish: (change) => void published.push(change.event.version) };
        const webhooks = new PaymentWebhooks({
          store: stores.payments,
          tokens: stores.storedPaymentMethods,
          refunds: stores.refunds,
          inbox: stores.inbox,
          events,
          merchantAccount: "Merchant",
          telemetry: { webhookAnomaly: (kind) => void counted.push(kind), webhookItem: () => {} },
          logger: memoryLogger([]),
        });
        try {
          const id = "pay_property" as PaymentId;
          await stores.payments.createPayment(newPayment({ id, reference: "order-p" }), null);
          const first = await stores.payments.recordSignal(
            id,
            { source: "API", resultCode: "RedirectShopper" },
            {
              pspReference: "PSP0000000000001" as PspReference,
            },
          );
          if (first.change) published.push(first.change.event.version);

          for (const item of items) {
            if (item.kind === "redirect") {
              const signal: PaymentSignal = { source: "REDIRECT", resultCode: item.resultCode };
              const recorded = await stores.payments.recordSignal(id, signal, {});
              if (recorded.change) published.push(recorded.change.event.version);
            } else {
              const notification: Notification = {
                eventCode: item.eventCode,
                success: item.eventCode === "AUTHORISATION" ? item.success : true,
                pspReference: "PSP0000000000001",
                originalReference: "",
                merchantReference: "order-p",
                merchantAccountCode: "Merchant",
                amount: { value: item.eventCode === "AUTHORISATION" ? item.amountValue : 1000, currency: "KRW" },
                reason: null,
                additionalData: {},
                raw: "{}",
              };
              await webhooks.apply(await webhooks.receive([notification]));
            }
          }

          const { statuses: expectedStatuses, anomalies } = expected(items);
          const recorded = await stores.payments.listEvents(id, 0);
          expect(recorded.map((e) => e.status)).toEqual(expectedStatuses);
          expect(recorded.map((e) => e.version)).toEqual(expectedStatuses.map((_, i) => i + 1));
          expect(published).toEqual(expectedStatuses.map((_, i) => i + 1));
          expect(counted).toEqual(anomalies);
          const payment = await stores.payments.getPayment(id);
          expect(payment).toMatchObject({ status: expectedStatuses.at(-1), version: expectedStatuses.length });
        } finally {
          await stores.close();
        }
      }),
      { numRuns: 300 },
    );
  });
});
