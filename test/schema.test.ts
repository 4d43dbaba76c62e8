import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { gatewaySdl } from "../src/graphql/sdl.js";

describe("schema/schema.graphql", () => {
  it("is what the code emits (run `npm run schema:emit` after changing src/graphql)", async () => {
    expect(readFileSync("schema/schema.graphql", "utf8")).toBe(await gatewaySdl());
  });

  it("keeps the names docs/contract.md fixes", async () => {
    const sdl = await gatewaySdl();
    for (const fixed of [
      "paymentMethods(input: PaymentMethodsInput!): [PaymentMethod!]!",
      "payment(id: ID!): Payment",
      "startKakaoPayPayment(input: StartKakaoPayPaymentInput!): Payment!",
      "submitPaymentDetails(input: SubmitPaymentDetailsInput!): Payment!",
      "paymentStatusChanged(afterVersion: Int, paymentId: ID!): PaymentStatusEvent!",
      "type Amount {",
      "scalar DateTime",
      "scalar JSON",
    ]) {
      expect(sdl).toContain(fixed);
    }
  });
});
