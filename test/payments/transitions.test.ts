import { describe, expect, it } from "vitest";
import { PaymentStatus } from "../../src/payments/status.js";
import { decideTransition, type PaymentSignal } from "../../src/payments/transitions.js";

type Status = PaymentStatus | null;
const ALL: Status[] = [null, ...Object.values(PaymentStatus)];
const state = (status: Status, refusalReason: string | null = null) => ({ status, refusalReason });

const authorisedWebhook: PaymentSignal = { source: "WEBHOOK", eventCode: "AUTHORISATION", success: true };
const refusedWebhook: PaymentSignal = { source: "WEBHOOK", eventCode: "AUTHORISATION", success: false, reason: "Not enough balance" };
const offerClosed: PaymentSignal = { source: "WEBHOOK", eventCode: "OFFER_CLOSED" };
const redirect = (resultCode: string, refusalReason?: string): PaymentSignal => ({ source: "REDIRECT", resultCode, refusalReason });

// Expected status after the signal, or "same" for no change; one row per (state, signal) pair.
const TABLE: Array<[Status, string, PaymentSignal, PaymentStatus | "same"]> = [];
for (const from of ALL) {
  TABLE.push([from, "AUTHORISATION true", authorisedWebhook, from === "AUTHORISED" ? "same" : "AUTHORISED"]);
  const final = from !== null && !["ACTION_REQUIRED", "PENDING"].includes(from);
  TABLE.push([from, "AUTHORISATION false", refusedWebhook, final ? "same" : "REFUSED"]);
  TABLE.push([from, "OFFER_CLOSED", offerClosed, final ? "same" : "EXPIRED"]);
  TABLE.push([from, "redirect Authorised", redirect("Authorised"), final || from === "AUTHORISED" ? "same" : "AUTHORISED"]);
  TABLE.push([from, "redirect Pending", redirect("Pending"), final || from === "PENDING" ? "same" : "PENDING"]);
  TABLE.push([from, "redirect Cancelled", redirect("Cancelled"), final ? "same" : "CANCELLED"]);
  TABLE.push([
    from,
    "redirect RedirectShopper",
    redirect("RedirectShopper"),
    final || from === "ACTION_REQUIRED" ? "same" : "ACTION_REQUIRED",
  ]);
}

describe("decideTransition: the status rules of docs/contract.md", () => {
  it.each(TABLE)("%s + %s", (from, _name, signal, expected) => {
    const decided = decideTransition(state(from), signal);
    if (expected === "same") expect(decided).toBeNull();
    else expect(decided?.status).toBe(expected);
  });

  it("keeps the webhook's reason as refusalReason when AUTHORISATION fails", () => {
    expect(decideTransition(state("ACTION_REQUIRED"), refusedWebhook)).toEqual({
      status: "REFUSED",
      refusalReason: "Not enough balance",
      resultCode: null,
    });
  });

  it("authorises an EXPIRED or REFUSED payment when Adyen says the money moved", () => {
    expect(decideTransition(state("EXPIRED"), authorisedWebhook)?.status).toBe("AUTHORISED");
    expect(decideTransition(state("REFUSED", "Refused"), authorisedWebhook)).toEqual({
      status: "AUTHORISED",
      refusalReason: null,
      resultCode: null,
    });
  });

  it("records the resultCode and refusalReason of a redirect result", () => {
    expect(decideTransition(state("ACTION_REQUIRED"), redirect("Error", "Acquirer Error"))).toEqual({
      status: "ERROR",
      refusalReason: "Acquirer Error",
      resultCode: "Error",
    });
  });

  it("starts a new payment from Adyen's first answer", () => {
    expect(decideTransition(state(null), { source: "API", resultCode: "RedirectShopper" })?.status).toBe("ACTION_REQUIRED");
    expect(decideTransition(state(null), { source: "API", resultCode: "Authorised" })?.status).toBe("AUTHORISED");
  });
});
