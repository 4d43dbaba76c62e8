import { describe, expect, it } from "vitest";
import { isFinal, nextStepFor, PaymentStatus, type ShopperNextStep, statusForResultCode } from "../../src/payments/status.js";

// Every resultCode Adyen's Checkout v72 defines (PaymentResponse.resultCode), and what the shopper is told.
const RESULT_CODES: Array<[resultCode: string, status: PaymentStatus, nextStep: ShopperNextStep]> = [
  ["RedirectShopper", "ACTION_REQUIRED", "COMPLETE_REDIRECT"],
  ["IdentifyShopper", "ACTION_REQUIRED", "COMPLETE_REDIRECT"],
  ["ChallengeShopper", "ACTION_REQUIRED", "COMPLETE_REDIRECT"],
  ["PresentToShopper", "ACTION_REQUIRED", "COMPLETE_REDIRECT"],
  ["Authorised", "AUTHORISED", "SHOW_SUCCESS"],
  ["Refused", "REFUSED", "ASK_DIFFERENT_METHOD"],
  ["Cancelled", "CANCELLED", "ASK_CONTINUE_OR_CHANGE_METHOD"],
  ["Error", "ERROR", "SHOW_ERROR"],
  ["Pending", "PENDING", "SHOW_ORDER_RECEIVED"],
  ["Received", "PENDING", "SHOW_ORDER_RECEIVED"],
  // Not KakaoPay outcomes and not a settled payment: wait for the AUTHORISATION webhook.
  ["PartiallyAuthorised", "PENDING", "SHOW_ORDER_RECEIVED"],
  ["Success", "PENDING", "SHOW_ORDER_RECEIVED"],
  ["AuthenticationFinished", "PENDING", "SHOW_ORDER_RECEIVED"],
  ["AuthenticationNotRequired", "PENDING", "SHOW_ORDER_RECEIVED"],
  ["SomethingAdyenAddsLater", "PENDING", "SHOW_ORDER_RECEIVED"],
];

describe("Adyen resultCode -> PaymentStatus -> ShopperNextStep", () => {
  it.each(RESULT_CODES)("%s -> %s -> %s", (resultCode, status, nextStep) => {
    expect(statusForResultCode(resultCode)).toBe(status);
    expect(nextStepFor(statusForResultCode(resultCode))).toBe(nextStep);
  });

  it("covers every resultCode of the Checkout v72 spec", async () => {
    const { readFile } = await import("node:fs/promises");
    const spec = JSON.parse(await readFile("src/simulator/spec/CheckoutService-v72.json", "utf8"));
    const codes: string[] = spec.components.schemas.PaymentResponse.properties.resultCode.enum;
    expect(codes.length).toBeGreaterThan(5);
    for (const code of codes) expect(RESULT_CODES.map(([c]) => c)).toContain(code);
  });

  it("gives every status a next step, and only AUTHORISED shows success", () => {
    const steps = Object.values(PaymentStatus).map(nextStepFor);
    expect(new Set(steps).size).toBe(Object.values(PaymentStatus).length);
    expect(Object.values(PaymentStatus).filter((s) => nextStepFor(s) === "SHOW_SUCCESS")).toEqual(["AUTHORISED"]);
  });

  it("treats exactly AUTHORISED, REFUSED, CANCELLED, ERROR and EXPIRED as final", () => {
    expect(Object.values(PaymentStatus).filter(isFinal)).toEqual(["AUTHORISED", "REFUSED", "CANCELLED", "ERROR", "EXPIRED"]);
  });
});
