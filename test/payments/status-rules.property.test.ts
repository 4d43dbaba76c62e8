import { GatewayMetrics } from "../../src/observability/metrics.js";
import { memoryLogger } from "../support/logger.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ApiKeyName, PaymentId, PspReference } from "../../src/payments/ids.js";
import type { Notification } from "../../src/payments/notification.js";
import type { StatusEvents } from "../../src/payments/ports.js";
import { isFinal, type PaymentStatus, statusForResultCode } from "../../src/payments/status.js";
import type { PaymentSignal } from "../../src/payments/transitions.js";
import { PaymentWebhooks } from "../../src/payments/webhooks.js";
import { openStores } from "../../src/store/index.js";

/** One thing that can happen to a redirect payment after Adyen answered RedirectShopper. */
type Happening =
  | { kind: "webhook"; eventCode: "AUTHORISATION"; success: boolean }
  | { kind: "webhook"; eventCode: "OFFER_CLOSED" }
  | { kind: "redirect"; resultCode: "Authorised" | "Refused" | "Cancelled" | "Error" | "Pending" | "Received" };

const happening: fc.Arbitrary<Happening> = fc.oneof(
  fc.boolean().map((success) => ({ kind: "webhook" as const, eventCode: "AUTHORISATION" as const, success })),
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

/**
 * The rules of docs/contract.md, written independently of decideTransition: AUTHORISATION true is the final word; otherwise
 * the first event that settles the payment wins; a webhook is applied once per identity.
 */
function expectedHistory(items: Happening[]): PaymentStatus[] {
  const statuses: PaymentStatus[] = ["ACTION_REQUIRED"];
  const seenWebhooks = new Set<string>();
  for (const item of items) {
    const current = statuses.at(-1)!;
    let next: PaymentStatus | null = null;
    if (item.kind === "webhook") {
      const identity = `${item.eventCode}:${item.eventCode === "AUTHORISATION" ? item.success : true}`;
      if (seenWebhooks.has(identity)) continue;
      seenWebhooks.add(identity);
      if (item.eventCode === "AUTHORISATION" && item.success) next = "AUTHORISED";
      else if (!isFinal(current)) next = item.eventCode === "AUTHORISATION" ? "REFUSED" : "EXPIRED";
    } else if (!isFinal(current)) {
      next = statusForResultCode(item.resultCode);
    }
    if (next !== null && next !== current) statuses.push(next);
  }
  return statuses;
}

describe("status rules, for any order and duplication of webhooks and redirect results", () => {
  it("end where docs/contract.md says, with versions that never skip or repeat, through the real store and inbox", async () => {
    await fc.assert(
      fc.asyncProperty(history, async (items) => {
        const stores = openStores("file::memory:");
        const published: number[] = [];
        const events: StatusEvents = { publish: (change) => void published.push(change.event.version) };
        const webhooks = new PaymentWebhooks({
          store: stores.payments,
          tokens: stores.storedPaymentMethods,
          refunds: stores.refunds,
          inbox: stores.inbox,
          events,
          merchantAccount: "Merchant",
          telemetry: new GatewayMetrics(() => stores.inbox.countUnapplied()),
          logger: memoryLogger([]),
        });
        try {
          const id = "pay_property" as PaymentId;
          await stores.payments.createPayment(
            {
              id,
              owner: "alpha" as ApiKeyName,
              reference: "order-p",
              amount: { value: 1000, currency: "KRW" },
              paymentMethodType: "kakaopay",
              returnUrl: "https://shop.example/r",
              countryCode: "KR",
              shopperLocale: null,
              channel: null,
              shopperReference: null,
              storePaymentMethod: false,
              storedPaymentMethodId: null,
              recurringProcessingModel: null,
            },
            null,
          );
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
                amount: { value: 1000, currency: "KRW" },
                reason: null,
                additionalData: {},
                raw: "{}",
              };
              await webhooks.apply(await webhooks.receive([notification]));
            }
          }

          const expected = expectedHistory(items);
          const recorded = await stores.payments.listEvents(id, 0);
          expect(recorded.map((e) => e.status)).toEqual(expected);
          expect(recorded.map((e) => e.version)).toEqual(expected.map((_, i) => i + 1));
          expect(published).toEqual(expected.map((_, i) => i + 1));
          const payment = await stores.payments.getPayment(id);
          expect(payment).toMatchObject({ status: expected.at(-1), version: expected.length });
        } finally {
          await stores.close();
        }
      }),
      { numRuns: 300 },
    );
  });
});
