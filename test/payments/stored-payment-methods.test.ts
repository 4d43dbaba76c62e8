import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { memoryLogger } from "../support/logger.js";
import type { ApiKeyName, PaymentId, PspReference } from "../../src/payments/ids.js";
import type { PaymentProvider } from "../../src/payments/ports.js";
import type { ProviderStoredPaymentMethod } from "../../src/payments/stored-payment-method.js";
import { StoredPaymentMethods } from "../../src/payments/stored-payment-methods.js";
import { openSqliteStores, type Stores } from "../../src/store/index.js";

const ALPHA = "alpha" as ApiKeyName;
const BETA = "beta" as ApiKeyName;

let stores: Stores;
let listed: ProviderStoredPaymentMethod[];
let lines: string[];
let service: StoredPaymentMethods;

/** Adyen, reduced to the list it answers: the only provider call listing makes. */
const adyen = {
  listStoredPaymentMethods: async () => listed,
} as unknown as PaymentProvider;

beforeEach(() => {
  stores = openSqliteStores(":memory:");
  listed = [];
  lines = [];
  service = new StoredPaymentMethods({
    store: stores.payments,
    tokens: stores.storedPaymentMethods,
    provider: adyen,
    logger: memoryLogger(lines),
  });
});
afterEach(() => stores.close());

let counter = 0;

/** A payment Adyen has answered, so its pspReference is known. */
async function payment(owner: ApiKeyName, pspReference: string, shopperReference: string | null, storePaymentMethod: boolean) {
  const id = `pay_unit_${++counter}` as PaymentId;
  await stores.payments.createPayment(
    {
      id,
      owner,
      reference: `order-${counter}`,
      amount: { value: 15000, currency: "KRW" },
      paymentMethodType: "kakaopay",
      returnUrl: "https://shop.example/r",
      countryCode: "KR",
      shopperLocale: null,
      channel: null,
      shopperReference,
      storePaymentMethod,
      storedPaymentMethodId: null,
      recurringProcessingModel: null,
    },
    null,
  );
  await stores.payments.recordSignal(id, { source: "API", resultCode: "RedirectShopper" }, { pspReference: pspReference as PspReference });
  return id;
}

function adyenLists(id: string, firstPspReference: string | null, shopperReference: string | null = "shared-42") {
  listed.push({ id, type: "kakaopay", shopperReference, firstPspReference });
}

describe("a token found only in Adyen's list", () => {
  it("is recorded for the owner whose storing payment for this shopper created it", async () => {
    const created = await payment(ALPHA, "PSPALPHA00000001", "shared-42", true);
    adyenLists("TOKENALPHA000001", "PSPALPHA00000001");
    expect(await service.list(ALPHA, "shared-42")).toEqual([
      expect.objectContaining({ id: "TOKENALPHA000001", owner: ALPHA, shopperReference: "shared-42", originalPaymentId: created }),
    ]);
  });

  it("is not recorded when the payment that created it is another key's, even for a shopper of the same name", async () => {
    await payment(ALPHA, "PSPALPHA00000002", "shared-42", true);
    await payment(BETA, "PSPBETA000000002", "shared-42", true);
    adyenLists("TOKENALPHA000002", "PSPALPHA00000002");
    expect(await service.list(BETA, "shared-42")).toEqual([]);
    expect(await stores.storedPaymentMethods.getToken("TOKENALPHA000002" as never)).toBeNull();
    expect(lines.filter((l) => l.includes("TOKENALPHA000002") && l.includes("not recorded"))).toHaveLength(1);
  });

  it.each([
    ["no firstPspReference", null, "shared-42"],
    ["a payment we do not know", "PSPUNKNOWN000003", "shared-42"],
    ["the owner's payment that did not ask to store a method", "PSPNOSTORE000003", "shared-42"],
    ["the owner's storing payment for another shopper", "PSPOTHER00000003", "shared-42"],
    ["the owner's storing payment, listed for another shopper", "PSPSTORING000003", null],
  ])("is not recorded when it names %s", async (_, firstPspReference, listedShopper) => {
    await payment(ALPHA, "PSPNOSTORE000003", "shared-42", false);
    await payment(ALPHA, "PSPOTHER00000003", "other-shopper", true);
    await payment(ALPHA, "PSPSTORING000003", "shared-42", true);
    adyenLists("TOKENALPHA000003", firstPspReference, listedShopper);
    expect(await service.list(ALPHA, "shared-42")).toEqual([]);
    expect(await stores.storedPaymentMethods.getToken("TOKENALPHA000003" as never)).toBeNull();
  });
});
