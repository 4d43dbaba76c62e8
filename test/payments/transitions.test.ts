import { describe, expect, it } from "vitest";
import { decideTransition, type PaymentSignal, type PaymentState } from "../../src/payments/transitions.js";

const AMOUNT = { value: 10_000, currency: "KRW" };
const webhook = (success: boolean, amount = AMOUNT): PaymentSignal => ({
  source: "WEBHOOK",
  eventCode: "AUTHORISATION",
  success,
  reason: success ? null : "Not enough balance",
  amount,
});
const redirect = (resultCode: string, refusalReason: string | null = null): PaymentSignal => ({
  source: "REDIRECT",
  resultCode,
  refusalReason,
});

const SIGNALS: Record<string, PaymentSignal> = {
  "AUTH true": webhook(true),
  "AUTH false": webhook(false),
  OFFER_CLOSED: { source: "WEBHOOK", eventCode: "OFFER_CLOSED" },
  "R Authorised": redirect("Authorised"),
  "R Refused": redirect("Refused", "Refused"),
  "R Cancelled": redirect("Cancelled"),
  "R Error": redirect("Error", "Acquirer Error"),
  "R Pending": redirect("Pending"),
};

const FROM: Record<string, Pick<PaymentState, "status" | "authorisedByWebhook">> = {
  "(no answer yet)": { status: null, authorisedByWebhook: false },
  ACTION_REQUIRED: { status: "ACTION_REQUIRED", authorisedByWebhook: false },
  PENDING: { status: "PENDING", authorisedByWebhook: false },
  "AUTHORISED (synchronous)": { status: "AUTHORISED", authorisedByWebhook: false },
  "AUTHORISED (webhook)": { status: "AUTHORISED", authorisedByWebhook: true },
  "REFUSED (webhook)": { status: "REFUSED", authorisedByWebhook: false },
  CANCELLED: { status: "CANCELLED", authorisedByWebhook: false },
  ERROR: { status: "ERROR", authorisedByWebhook: false },
  EXPIRED: { status: "EXPIRED", authorisedByWebhook: false },
};

/**
 * docs/contract.md "Status rules", written out by hand: the status after each signal (details not sent yet). `!` marks
 * a contradiction that is logged as an error and counted (refused_after_authorised).
 */
// biome-ignore format: a table written by hand, one row per state
const EXPECTED: Record<string, string[]> = {
  //                           AUTH true     AUTH false     OFFER_CLOSED  R Authorised  R Refused   R Cancelled  R Error      R Pending
  "(no answer yet)":          ["AUTHORISED", "REFUSED",     "EXPIRED",    "AUTHORISED", "REFUSED",  "CANCELLED", "ERROR",     "PENDING"],
  ACTION_REQUIRED:            ["AUTHORISED", "REFUSED",     "EXPIRED",    "AUTHORISED", "REFUSED",  "CANCELLED", "ERROR",     "PENDING"],
  PENDING:                    ["AUTHORISED", "REFUSED",     "EXPIRED",    "AUTHORISED", "REFUSED",  "CANCELLED", "ERROR",     "PENDING"],
  "AUTHORISED (synchronous)": ["AUTHORISED", "REFUSED!",    "AUTHORISED", "AUTHORISED", "AUTHORISED", "AUTHORISED", "AUTHORISED", "AUTHORISED"],
  "AUTHORISED (webhook)":     ["AUTHORISED", "AUTHORISED!", "AUTHORISED", "AUTHORISED", "AUTHORISED", "AUTHORISED", "AUTHORISED", "AUTHORISED"],
  "REFUSED (webhook)":        ["AUTHORISED", "REFUSED",     "REFUSED",    "REFUSED",    "REFUSED",  "CANCELLED", "ERROR",     "REFUSED"],
  CANCELLED:                  ["AUTHORISED", "CANCELLED",   "CANCELLED",  "CANCELLED",  "CANCELLED", "CANCELLED", "CANCELLED", "CANCELLED"],
  ERROR:                      ["AUTHORISED", "ERROR",       "ERROR",      "ERROR",      "ERROR",    "ERROR",     "ERROR",     "ERROR"],
  EXPIRED:                    ["AUTHORISED", "EXPIRED",     "EXPIRED",    "EXPIRED",    "EXPIRED",  "EXPIRED",   "EXPIRED",   "EXPIRED"],
};

const state = (from: Pick<PaymentState, "status" | "authorisedByWebhook">, overrides: Partial<PaymentState> = {}): PaymentState => ({
  refusalReason: null,
  resultCode: null,
  amount: AMOUNT,
  detailsSubmitted: false,
  ...from,
  ...overrides,
});

const ROWS = Object.entries(EXPECTED).flatMap(([from, row]) =>
  Object.keys(SIGNALS).map((signal, i) => [from, signal, row[i]!.replace("!", ""), row[i]!.endsWith("!")] as const),
);

describe("decideTransition: the status rules of docs/contract.md", () => {
  it("has one expected status per state and signal", () => {
    for (const row of Object.values(EXPECTED)) expect(row).toHaveLength(Object.keys(SIGNALS).length);
    expect(Object.keys(EXPECTED)).toEqual(Object.keys(FROM));
  });

  it.each(ROWS)("%s + %s -> %s", (from, signal, expected, contradiction) => {
    const decided = decideTransition(state(FROM[from]!), SIGNALS[signal]!);
    expect(decided.status).toBe(expected);
    expect(decided.anomaly).toBe(contradiction ? "refused_after_authorised" : null);
  });

  it("keeps the webhook's reason as refusalReason when AUTHORISATION fails", () => {
    expect(decideTransition(state(FROM.ACTION_REQUIRED!), webhook(false))).toMatchObject({
      status: "REFUSED",
      refusalReason: "Not enough balance",
    });
  });

  it("remembers that an AUTHORISATION success=true was seen, also on a payment already AUTHORISED", () => {
    expect(decideTransition(state(FROM["AUTHORISED (synchronous)"]!), webhook(true))).toMatchObject({
      status: "AUTHORISED",
      authorisedByWebhook: true,
      anomaly: null,
    });
    expect(decideTransition(state(FROM.EXPIRED!, { refusalReason: "x" }), webhook(true))).toMatchObject({
      status: "AUTHORISED",
      refusalReason: null,
      authorisedByWebhook: true,
    });
  });

  it.each([
    ["1 KRW", { value: 1, currency: "KRW" }],
    ["10,000 USD", { value: 10_000, currency: "USD" }],
    ["no amount", null],
  ])("never applies an AUTHORISATION for %s to a 10,000 KRW payment", (_name, amount) => {
    for (const success of [true, false]) {
      for (const from of ["ACTION_REQUIRED", "PENDING", "AUTHORISED (synchronous)", "REFUSED (webhook)", "EXPIRED"]) {
        const before = state(FROM[from]!);
        expect(decideTransition(before, { ...webhook(success), amount } as PaymentSignal)).toEqual({
          status: before.status,
          refusalReason: null,
          resultCode: null,
          authorisedByWebhook: false,
          detailsSubmitted: false,
          anomaly: "amount_mismatch",
        });
      }
    }
  });

  it("records Adyen's resultCode and that the details were sent, also when the status stays", () => {
    expect(decideTransition(state(FROM["AUTHORISED (webhook)"]!, { resultCode: "RedirectShopper" }), redirect("Authorised"))).toMatchObject(
      {
        status: "AUTHORISED",
        resultCode: "Authorised",
        detailsSubmitted: true,
      },
    );
    expect(
      decideTransition(state(FROM["REFUSED (webhook)"]!, { refusalReason: "Cancelled" }), redirect("Cancelled", "Cancelled")),
    ).toMatchObject({
      status: "CANCELLED",
      resultCode: "Cancelled",
      refusalReason: "Cancelled",
      detailsSubmitted: true,
    });
    expect(decideTransition(state(FROM.ACTION_REQUIRED!), redirect("Error", "Acquirer Error"))).toMatchObject({
      status: "ERROR",
      refusalReason: "Acquirer Error",
      resultCode: "Error",
      detailsSubmitted: true,
    });
  });

  it("ignores a second answer to details already sent", () => {
    for (const from of Object.keys(FROM)) {
      const before = state(FROM[from]!, { detailsSubmitted: true, resultCode: "Pending" });
      for (const resultCode of ["Authorised", "Refused", "Cancelled", "Error", "Pending"]) {
        expect(decideTransition(before, redirect(resultCode))).toEqual({
          status: before.status,
          refusalReason: null,
          resultCode: "Pending",
          authorisedByWebhook: before.authorisedByWebhook,
          detailsSubmitted: true,
          anomaly: null,
        });
      }
    }
  });

  it("starts a new payment from Adyen's first answer", () => {
    expect(decideTransition(state(FROM["(no answer yet)"]!), { source: "API", resultCode: "RedirectShopper" })).toMatchObject({
      status: "ACTION_REQUIRED",
      resultCode: "RedirectShopper",
    });
    expect(decideTransition(state(FROM["(no answer yet)"]!), { source: "API", resultCode: "Authorised" })).toMatchObject({
      status: "AUTHORISED",
      authorisedByWebhook: false,
    });
  });
});
