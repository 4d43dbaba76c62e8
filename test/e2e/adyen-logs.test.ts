import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PaymentMethodsDocument, StartKakaoPayPaymentDocument, SubmitPaymentDetailsDocument } from "../generated/graphql.js";
import { TestGateway } from "../support/gateway.js";

const ADYEN_API_KEY = "adyen-api-key-that-must-never-be-logged";

let gw: TestGateway;
beforeAll(async () => {
  gw = await TestGateway.start({ ADYEN_API_KEY, ADYEN_TIMEOUT_MS: "800" });
});
afterEach(() => gw.simulator.control.reset());
afterAll(() => gw.close());

let counter = 0;
const startInput = () => ({
  amount: { value: 12300, currency: "KRW" },
  reference: `logged-${++counter}`,
  returnUrl: "https://shop.example/r",
});

/** The gateway's own log lines about failed Adyen calls (the simulator logs its side too). */
const adyenFailures = () => gw.lines.filter((line) => line.startsWith("adyen "));

describe("a failed Adyen call is logged for operators", () => {
  it("with Adyen's status, errorCode, message and the latency, and no secret of the request", async () => {
    const started = (await gw.data(StartKakaoPayPaymentDocument, { input: startInput() })).startKakaoPayPayment;
    const redirectResult = "shopper-redirect-result-not-for-logs";
    const result = await gw.request(SubmitPaymentDetailsDocument, { input: { paymentId: started.id, details: { redirectResult } } });
    expect(result.errors?.[0]?.extensions?.code).toBe("PROVIDER_REJECTED");
    const line = adyenFailures().find((l) => l.includes("paymentsDetails"));
    expect(line).toMatch(/status=422 errorCode=000 /);
    expect(line).toMatch(/latencyMs=\d+/);
    expect(line).toContain("Invalid redirectResult");
    expect(line).toContain(started.id);
    expect(gw.lines.join("\n")).not.toContain(ADYEN_API_KEY);
    expect(gw.lines.join("\n")).not.toContain(redirectResult);
  });

  it("when Adyen does not answer in time", async () => {
    gw.simulator.control.setFaults({ mode: "timeout", count: 1, paths: ["/payments"] });
    const result = await gw.request(StartKakaoPayPaymentDocument, { input: startInput() });
    expect(result.errors?.[0]?.extensions?.code).toBe("PROVIDER_UNAVAILABLE");
    const line = adyenFailures().find((l) => l.includes("adyen payments ") && l.includes("TIMEOUT"));
    expect(line).toMatch(/status=none errorCode=TIMEOUT /);
    expect(line).toMatch(/latencyMs=\d+/);
    expect(line).toContain(String(result.errors?.[0]?.extensions?.paymentId));
  });

  it("when Adyen answers 5xx", async () => {
    gw.simulator.control.setFaults({ mode: "5xx", count: 1, paths: ["/paymentMethods"] });
    const result = await gw.request(PaymentMethodsDocument, {
      input: { amount: { value: 12300, currency: "KRW" }, countryCode: "KR" },
    });
    expect(result.errors?.[0]?.extensions?.code).toBe("PROVIDER_UNAVAILABLE");
    const line = adyenFailures().find((l) => l.includes("adyen paymentMethods "));
    expect(line).toMatch(/status=500 errorCode=000 /);
    expect(line).toMatch(/latencyMs=\d+/);
    expect(gw.lines.join("\n")).not.toContain(ADYEN_API_KEY);
  });
});
