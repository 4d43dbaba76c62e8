import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ChargeStoredPaymentMethodDocument,
  type ChargeStoredPaymentMethodInput,
  DisableStoredPaymentMethodDocument,
  PaymentDocument,
  StartKakaoPayPaymentDocument,
  StoredPaymentMethodsDocument,
  SubmitPaymentDetailsDocument,
} from "../generated/graphql.js";
import { ALPHA_KEY, BETA_KEY, chooseOutcome, eventually, MERCHANT_ACCOUNT, TestGateway, tableRows } from "../support/gateway.js";
import { notificationBody, postWebhook, signedItem } from "../support/webhooks.js";

const ADYEN_API_KEY = "simulator-api-key-0123456789";

let gw: TestGateway;
beforeAll(async () => {
  // Every storedPaymentMethods asks Adyen here: these tests are about what its answers do, not how often it is asked.
  gw = await TestGateway.start({ SIMULATOR_WEBHOOK_DELAY_MS: "20", ADYEN_API_KEY, STORED_METHODS_LOOKUP_SECONDS: "0" });
});
afterEach(() => gw.simulator.control.reset());
afterAll(() => gw.close());

let counter = 0;

/** A first payment that stores the method, authorised by the shopper on the hosted page. */
async function storeMethod(shopperReference: string, apiKey = ALPHA_KEY) {
  const payment = (
    await gw.data(
      StartKakaoPayPaymentDocument,
      {
        input: {
          amount: { value: 15000, currency: "KRW" },
          reference: `sub-${++counter}`,
          returnUrl: "myapp://subscribed",
          shopperReference,
          storePaymentMethod: true,
        },
      },
      apiKey,
    )
  ).startKakaoPayPayment;
  expect(payment).toMatchObject({ storePaymentMethod: true, shopperReference });
  await chooseOutcome((payment.action as { url: string }).url, "authorised");
  await gw.simulator.control.idle();
  return payment;
}

async function methods(shopperReference: string, apiKey = ALPHA_KEY) {
  return (await gw.data(StoredPaymentMethodsDocument, { shopperReference }, apiKey)).storedPaymentMethods;
}

function charge(
  input: Partial<ChargeStoredPaymentMethodInput> & { storedPaymentMethodId: string; shopperReference: string },
  apiKey = ALPHA_KEY,
) {
  return gw.request(
    ChargeStoredPaymentMethodDocument,
    {
      input: {
        amount: { value: 9900, currency: "KRW" },
        reference: `renewal-${++counter}`,
        recurringProcessingModel: "SUBSCRIPTION",
        ...input,
      },
    },
    apiKey,
  );
}

/** Adyen's own list for one of its shoppers, asked directly (not through the gateway). */
async function adyenTokens(adyenShopperReference: string): Promise<string[]> {
  const query = new URLSearchParams({ shopperReference: adyenShopperReference, merchantAccount: MERCHANT_ACCOUNT });
  const response = await fetch(`${gw.simulator.url}/v72/storedPaymentMethods?${query}`, { headers: { "x-api-key": ADYEN_API_KEY } });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { storedPaymentMethods?: Array<{ id: string }> };
  return (body.storedPaymentMethods ?? []).map((method) => method.id);
}

/** A payment started and not paid yet: Adyen has answered with its pspReference. */
async function startPayment(input: { shopperReference?: string; storePaymentMethod?: boolean }) {
  const payment = (
    await gw.data(StartKakaoPayPaymentDocument, {
      input: { amount: { value: 15000, currency: "KRW" }, reference: `sub-${++counter}`, returnUrl: "myapp://subscribed", ...input },
    })
  ).startKakaoPayPayment;
  expect(payment.pspReference).toBeTruthy();
  return payment;
}

/**
 * Posts a correctly signed RECURRING_CONTRACT for `payment` whose unsigned additionalData names `shopper`, and waits
 * until the gateway has dealt with it.
 */
async function recurringContract(payment: { pspReference?: string | null; reference: string }, token: string, shopper: string) {
  const item = signedItem({
    eventCode: "RECURRING_CONTRACT",
    pspReference: token,
    originalReference: payment.pspReference!,
    merchantReference: payment.reference,
    amount: { value: 15000, currency: "KRW" },
    additionalData: { "recurring.shopperReference": shopper, shopperReference: shopper, "recurring.recurringDetailReference": token },
  });
  expect((await postWebhook(gw.url, notificationBody([item]))).status).toBe(200);
  await eventually(async () => {
    const row = (await tableRows(gw, "notification_inbox")).find((r) => r.psp_reference === token);
    expect(row).toBeDefined();
    expect(row!.applied_at).not.toBeNull();
  });
}

const tokenRow = async (id: string) => (await tableRows(gw, "stored_payment_methods")).find((r) => r.id === id);

const tokenCharges = () => gw.simulator.control.stats().requestsByPath["/v72/payments"] ?? 0;

describe("creating a token", () => {
  it("yields exactly one active method from a first payment authorised on the hosted page", async () => {
    const first = await storeMethod("shopper-one");
    await eventually(async () => expect(await methods("shopper-one")).toHaveLength(1));
    const [method] = await methods("shopper-one");
    expect(method).toMatchObject({ type: "kakaopay", shopperReference: "shopper-one", originalPaymentId: first.id, active: true });
    expect(method!.id).toMatch(/^[A-Z0-9]{16}$/);
    expect((await gw.data(PaymentDocument, { id: first.id })).payment?.status).toBe("AUTHORISED");
  });

  it("yields one method when RECURRING_CONTRACT is delivered twice", async () => {
    gw.simulator.control.setWebhookBehaviour({ duplicates: true });
    await storeMethod("shopper-twice");
    await eventually(async () => expect(gw.simulator.control.stats().pendingDeliveries).toBe(0));
    expect(await methods("shopper-twice")).toHaveLength(1);
  });

  it("yields one method when RECURRING_CONTRACT arrives before AUTHORISATION", async () => {
    gw.simulator.control.setWebhookBehaviour({ recurringContractFirst: true });
    const first = await storeMethod("shopper-early");
    await eventually(async () => expect(await methods("shopper-early")).toHaveLength(1));
    await eventually(async () => expect((await gw.data(PaymentDocument, { id: first.id })).payment?.status).toBe("AUTHORISED"));
  });

  it("recovers a token whose RECURRING_CONTRACT was dropped, through storedPaymentMethods", async () => {
    gw.simulator.control.setWebhookBehaviour({ dropEventCodes: ["RECURRING_CONTRACT"] });
    const first = await storeMethod("shopper-dropped");
    const token = gw.simulator.control.payments().find((p) => p.pspReference === first.pspReference)?.storedPaymentMethodId;
    expect(token).toBeTruthy();
    const recovered = await methods("shopper-dropped");
    expect(recovered).toEqual([expect.objectContaining({ id: token, active: true, originalPaymentId: first.id })]);
    expect(await methods("shopper-dropped", BETA_KEY)).toEqual([]);
  });

  it("answers from the store, and says so in the log, when Adyen cannot be asked", async () => {
    await storeMethod("shopper-offline");
    await eventually(async () => expect(await methods("shopper-offline")).toHaveLength(1));
    gw.simulator.control.setFaults({ mode: "5xx", paths: ["/v72/storedPaymentMethods"] });
    expect(await methods("shopper-offline")).toHaveLength(1);
    expect(gw.lines.some((l) => l.includes("answered from the store only"))).toBe(true);
  });
});

describe("RECURRING_CONTRACT", () => {
  it.each([
    ["names the payment's own shopper", "TOKEN19NOSTORE01", "shopper-19-plain", "shopper-19-plain"],
    ["names a shopper the payment has none of", "TOKEN19NOSHOPR01", undefined, "shopper-19-victim"],
  ])("creates no token for a payment that did not ask to store one, when it %s", async (_, token, shopperReference, named) => {
    const payment = await startPayment({ shopperReference, storePaymentMethod: false });
    await recurringContract(payment, token, named);
    expect(await tokenRow(token)).toBeUndefined();
    expect(await methods(named)).toEqual([]);
  });

  it("records the token for the storing payment's own shopper, whatever shopper its additionalData names", async () => {
    const payment = await startPayment({ shopperReference: "shopper-19-own", storePaymentMethod: true });
    await recurringContract(payment, "TOKEN19OTHERSHP1", "shopper-19-other");
    expect(await methods("shopper-19-own")).toEqual([
      expect.objectContaining({ id: "TOKEN19OTHERSHP1", shopperReference: "shopper-19-own", originalPaymentId: payment.id, active: true }),
    ]);
    expect(await methods("shopper-19-other")).toEqual([]);
  });
});

describe("two apps with the same shopperReference", () => {
  it("sends Adyen the shopper namespaced by the API key name, and shows the app its own", async () => {
    const first = await storeMethod("shopper-ns", BETA_KEY);
    const [method] = await eventually(async () => {
      const list = await methods("shopper-ns", BETA_KEY);
      expect(list).toHaveLength(1);
      return list;
    });
    expect(method!.shopperReference).toBe("shopper-ns");
    const charged = (await charge({ storedPaymentMethodId: method!.id, shopperReference: "shopper-ns" }, BETA_KEY)).data!
      .chargeStoredPaymentMethod;
    expect(charged).toMatchObject({ status: "AUTHORISED", shopperReference: "shopper-ns" });
    const atAdyen = gw.simulator.control.payments();
    expect(atAdyen.find((p) => p.pspReference === first.pspReference)?.shopperReference).toBe("beta:shopper-ns");
    expect(atAdyen.find((p) => p.pspReference === charged.pspReference)?.shopperReference).toBe("beta:shopper-ns");
    expect(await adyenTokens("beta:shopper-ns")).toEqual([method!.id]);
    expect(await adyenTokens("shopper-ns")).toEqual([]);
  });

  it("stores and lists for a shopperReference of the longest length an app may use", async () => {
    const longest = "s".repeat(191);
    await storeMethod(longest, BETA_KEY);
    await eventually(async () =>
      expect(await methods(longest, BETA_KEY)).toEqual([expect.objectContaining({ shopperReference: longest })]),
    );
  });

  it("never lets another key record or charge a token whose RECURRING_CONTRACT was lost", async () => {
    gw.simulator.control.setWebhookBehaviour({ dropEventCodes: ["RECURRING_CONTRACT"] });
    const alpha = await storeMethod("shared-42", ALPHA_KEY);
    const beta = await storeMethod("shared-42", BETA_KEY);
    const tokenOf = (pspReference: string | null | undefined) =>
      gw.simulator.control.payments().find((p) => p.pspReference === pspReference)?.storedPaymentMethodId;
    const alphaToken = tokenOf(alpha.pspReference);
    const betaToken = tokenOf(beta.pspReference);
    expect(alphaToken).toBeTruthy();
    expect(betaToken).toBeTruthy();

    expect(await methods("shared-42", BETA_KEY)).toEqual([
      expect.objectContaining({ id: betaToken, originalPaymentId: beta.id, shopperReference: "shared-42", active: true }),
    ]);
    const before = tokenCharges();
    const stolen = await charge(
      { storedPaymentMethodId: alphaToken!, shopperReference: "shared-42", amount: { value: 990000, currency: "KRW" } },
      BETA_KEY,
    );
    expect(stolen.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect(tokenCharges()).toBe(before);

    expect(await methods("shared-42", ALPHA_KEY)).toEqual([
      expect.objectContaining({ id: alphaToken, originalPaymentId: alpha.id, shopperReference: "shared-42", active: true }),
    ]);
    expect(await methods("shared-42", BETA_KEY)).toEqual([expect.objectContaining({ id: betaToken })]);
  });
});

describe("charging a token", () => {
  let token: string;
  beforeAll(async () => {
    await storeMethod("shopper-charge");
    token = (
      await eventually(async () => {
        const [method] = await methods("shopper-charge");
        expect(method).toBeDefined();
        return method!;
      })
    ).id;
  });

  it.each(["SUBSCRIPTION", "UNSCHEDULED_CARD_ON_FILE"] as const)("charges with %s to AUTHORISED, no action", async (model) => {
    const result = await charge({ storedPaymentMethodId: token, shopperReference: "shopper-charge", recurringProcessingModel: model });
    const payment = result.data!.chargeStoredPaymentMethod;
    expect(payment).toMatchObject({ status: "AUTHORISED", nextStep: "SHOW_SUCCESS", resultCode: "Authorised", action: null, version: 1 });
    expect(payment.pspReference).toMatch(/^[A-Z0-9]{16}$/);
    // Its AUTHORISATION webhook follows and changes nothing.
    await gw.simulator.control.idle();
    await eventually(async () => expect(gw.simulator.control.stats().pendingDeliveries).toBe(0));
    expect((await gw.data(PaymentDocument, { id: payment.id })).payment).toMatchObject({ status: "AUTHORISED", version: 1 });
  });

  it("answers INVALID_STATE to details for a token charge", async () => {
    const payment = (await charge({ storedPaymentMethodId: token, shopperReference: "shopper-charge" })).data!.chargeStoredPaymentMethod;
    const result = await gw.request(SubmitPaymentDetailsDocument, { input: { paymentId: payment.id, details: { redirectResult: "x" } } });
    expect(result.errors?.[0]?.extensions?.code).toBe("INVALID_STATE");
  });

  it("refuses another shopper's token, an unknown token and another key, before Adyen is called", async () => {
    const before = tokenCharges();
    for (const [input, key] of [
      [{ storedPaymentMethodId: token, shopperReference: "someone-else" }, ALPHA_KEY],
      [{ storedPaymentMethodId: "UNKNOWNTOKEN0000", shopperReference: "shopper-charge" }, ALPHA_KEY],
      [{ storedPaymentMethodId: token, shopperReference: "shopper-charge" }, BETA_KEY],
    ] as const) {
      const result = await charge(input, key);
      expect(result.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    }
    expect(await methods("shopper-charge", BETA_KEY)).toEqual([]);
    const disable = await gw.request(
      DisableStoredPaymentMethodDocument,
      { input: { storedPaymentMethodId: token, shopperReference: "shopper-charge" } },
      BETA_KEY,
    );
    expect(disable.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect(tokenCharges()).toBe(before);
  });
});

describe("disabling a token", () => {
  it("ends disabled when Adyen already deleted it (our write after Adyen's DELETE had failed)", async () => {
    await storeMethod("shopper-redelete");
    const [method] = await eventually(async () => {
      const list = await methods("shopper-redelete");
      expect(list).toHaveLength(1);
      return list;
    });
    // The first attempt's DELETE reached Adyen and its write here was lost: Adyen no longer has the token.
    const query = new URLSearchParams({ shopperReference: "alpha:shopper-redelete", merchantAccount: MERCHANT_ACCOUNT });
    const deleted = await fetch(`${gw.simulator.url}/v72/storedPaymentMethods/${method!.id}?${query}`, {
      method: "DELETE",
      headers: { "x-api-key": ADYEN_API_KEY },
    });
    expect(deleted.status).toBe(204);

    const retried = await gw.data(DisableStoredPaymentMethodDocument, {
      input: { storedPaymentMethodId: method!.id, shopperReference: "shopper-redelete" },
    });
    expect(retried.disableStoredPaymentMethod).toEqual({ id: method!.id, active: false });
    expect(await methods("shopper-redelete")).toEqual([expect.objectContaining({ id: method!.id, active: false })]);
    const result = await charge({ storedPaymentMethodId: method!.id, shopperReference: "shopper-redelete" });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "INVALID_STATE" });
  });

  it("makes a later charge fail with INVALID_STATE and no Adyen call", async () => {
    await storeMethod("shopper-disable");
    const [method] = await eventually(async () => {
      const list = await methods("shopper-disable");
      expect(list).toHaveLength(1);
      return list;
    });
    const disabled = await gw.data(DisableStoredPaymentMethodDocument, {
      input: { storedPaymentMethodId: method!.id, shopperReference: "shopper-disable" },
    });
    expect(disabled.disableStoredPaymentMethod).toEqual({ id: method!.id, active: false });
    expect(await methods("shopper-disable")).toEqual([expect.objectContaining({ id: method!.id, active: false })]);
    expect(await adyenTokens("alpha:shopper-disable")).toEqual([]);

    const before = tokenCharges();
    const result = await charge({ storedPaymentMethodId: method!.id, shopperReference: "shopper-disable" });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "INVALID_STATE" });
    expect(result.errors?.[0]?.message).toContain("disabled");
    expect(tokenCharges()).toBe(before);
  });
});
