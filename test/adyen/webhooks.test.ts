import adyen from "@adyen/api-library";
import { describe, expect, it } from "vitest";
import { checkBasicAuth, hasValidSignature, MalformedNotification, parseNotificationRequest } from "../../src/adyen/webhooks.js";

// The Adyen library's own test vector (docs/stack.md #6).
const VECTOR_KEY = "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00";
const VECTOR_SIGNATURE = "ZNBPtI+oDyyRrLyD1XirkKnQgIAlFc07Vj27TeHsDRE=";
const vectorItem = () => ({
  pspReference: "pspReference",
  originalReference: "originalReference",
  merchantAccountCode: "merchantAccount",
  merchantReference: "reference",
  amount: { value: 1000, currency: "EUR" },
  eventCode: "REPORT_AVAILABLE",
  success: "true",
  additionalData: { hmacSignature: VECTOR_SIGNATURE },
});

describe("webhook HMAC", () => {
  it("matches the library's test vector", () => {
    const validator = new adyen.hmacValidator();
    expect(
      validator.calculateHmac("pspReference:originalReference:merchantAccount:reference:1000:EUR:REPORT_AVAILABLE:true", VECTOR_KEY),
    ).toBe(VECTOR_SIGNATURE);
    expect(hasValidSignature(vectorItem(), [VECTOR_KEY])).toBe(true);
  });

  it("accepts the previous key during a rotation, in either position", () => {
    const current = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";
    expect(hasValidSignature(vectorItem(), [current, VECTOR_KEY])).toBe(true);
    expect(hasValidSignature(vectorItem(), [current])).toBe(false);
  });

  it("rejects a changed field, and a missing signature without throwing", () => {
    expect(hasValidSignature({ ...vectorItem(), amount: { value: 1001, currency: "EUR" } }, [VECTOR_KEY])).toBe(false);
    expect(hasValidSignature({ ...vectorItem(), success: "false" }, [VECTOR_KEY])).toBe(false);
    expect(hasValidSignature({ ...vectorItem(), additionalData: {} }, [VECTOR_KEY])).toBe(false);
  });

  it("accepts what the library signs whatever the fields hold, and refuses a signature of another length or no amount", () => {
    const validator = new adyen.hmacValidator();
    const items = [
      { ...vectorItem(), originalReference: undefined, merchantReference: "주문:1\\2", eventDate: "2026-11-30T00:00:00Z" },
      { ...vectorItem(), amount: { value: 0, currency: "KRW" }, success: "false", reason: "Refused" },
    ];
    for (const item of items) {
      const signed = { ...item, additionalData: { hmacSignature: validator.calculateHmac(item as never, VECTOR_KEY) } };
      expect(hasValidSignature(signed, [VECTOR_KEY])).toBe(true);
    }
    expect(hasValidSignature({ ...vectorItem(), additionalData: { hmacSignature: "c2hvcnQ=" } }, [VECTOR_KEY])).toBe(false);
    expect(hasValidSignature({ ...vectorItem(), amount: undefined }, [VECTOR_KEY])).toBe(false);
  });
});

describe("webhook basic auth", () => {
  const header = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  it("accepts exactly the configured credentials", () => {
    expect(checkBasicAuth(header("adyen", "s3cret"), "adyen", "s3cret")).toBe(true);
    expect(checkBasicAuth(header("adyen", "s3cres"), "adyen", "s3cret")).toBe(false);
    expect(checkBasicAuth(header("adyen", "s3cret "), "adyen", "s3cret")).toBe(false);
    expect(checkBasicAuth(undefined, "adyen", "s3cret")).toBe(false);
    expect(checkBasicAuth("Bearer abc", "adyen", "s3cret")).toBe(false);
  });
});

describe("parseNotificationRequest", () => {
  it("keeps each item's raw JSON, unknown fields included", () => {
    const item = { ...vectorItem(), eventCode: "RECURRING_CONTRACT", originalPsp: "ABC", paymentMethod: "kakaopay" };
    const [parsed] = parseNotificationRequest(JSON.stringify({ live: "false", notificationItems: [{ NotificationRequestItem: item }] }));
    expect(JSON.parse(parsed!.notification.raw)).toEqual(item);
    expect(parsed!.notification).toMatchObject({ eventCode: "RECURRING_CONTRACT", success: true, originalReference: "originalReference" });
  });

  it.each([
    ["not JSON", "{"],
    ["null", "null"],
    ["no items", "{}"],
    ["an item of the wrong shape", JSON.stringify({ notificationItems: [{ Other: {} }] })],
    [
      "an amount that is not an integer",
      JSON.stringify({ notificationItems: [{ NotificationRequestItem: { ...vectorItem(), amount: { value: 1.5, currency: "EUR" } } }] }),
    ],
  ])("refuses %s", (_name, body) => {
    expect(() => parseNotificationRequest(body)).toThrow(MalformedNotification);
  });
});
