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
import { ALPHA_KEY, BETA_KEY, chooseOutcome, eventually, TestGateway } from "../support/gateway.js";

let gw: TestGateway;
beforeAll(async () => {
  // Every storedPaymentMethods asks Adyen here: these tests are about what its answers do, not how often it is asked.
  gw = await TestGateway.start({ SIMULATOR_WEBHOOK_DELAY_MS: "20", STORED_METHODS_LOOKUP_SECONDS: "0" });
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

    const before = tokenCharges();
    const result = await charge({ storedPaymentMethodId: method!.id, shopperReference: "shopper-disable" });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "INVALID_STATE" });
    expect(result.errors?.[0]?.message).toContain("disabled");
    expect(tokenCharges()).toBe(before);
  });
});
