import { randomBytes } from "node:crypto";

/** The gateway's answer to the demo's server part was a GraphQL error: its message is shown to the shopper. */
export class GatewayAnswer extends Error {}

/**
 * The demo shop's "merchant server": what a merchant's back end does, calling the gateway's GraphQL API over HTTP
 * with its API key. The key stays here; the browser gets a payment's id, action and client secret only.
 */
export class MerchantServer {
  constructor(
    readonly gatewayUrl: string,
    private readonly apiKey: string,
  ) {}

  async paymentMethods(amountValue: number): Promise<unknown> {
    const data = await this.graphql(`query Methods($input: PaymentMethodsInput!) { paymentMethods(input: $input) { type name } }`, {
      input: { amount: { value: amountValue, currency: "KRW" }, countryCode: "KR", channel: "WEB" },
    });
    return data.paymentMethods;
  }

  async startPayment(amount: unknown, returnUrl: string): Promise<unknown> {
    const data = await this.graphql(
      `mutation Start($input: StartKakaoPayPaymentInput!) {
        startKakaoPayPayment(input: $input) { id status action clientSecret }
      }`,
      // The shop's own order number; the gateway checks the amount, the returnUrl and everything else.
      { input: { amount, reference: `demo-${randomBytes(6).toString("hex")}`, returnUrl, channel: "WEB", countryCode: "KR" } },
    );
    return data.startKakaoPayPayment;
  }

  async refund(paymentId: unknown): Promise<unknown> {
    const data = await this.graphql(
      `mutation Refund($input: RefundPaymentInput!) { refundPayment(input: $input) { id status amount { value currency } } }`,
      { input: { paymentId } },
    );
    return data.refundPayment;
  }

  private async graphql(query: string, variables: Record<string, unknown>): Promise<Record<string, unknown>> {
    const response = await fetch(`${this.gatewayUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.apiKey}` },
      body: JSON.stringify({ query, variables }),
    });
    const result = (await response.json()) as { data?: Record<string, unknown> | null; errors?: Array<{ message: string }> };
    if (result.errors?.length || !result.data) {
      throw new GatewayAnswer(result.errors?.map((error) => error.message).join("; ") ?? `the gateway answered ${response.status}`);
    }
    return result.data;
  }
}
