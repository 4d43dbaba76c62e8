import { createHmac } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ChargeStoredPaymentMethodDocument,
  DisableStoredPaymentMethodDocument,
  PaymentDocument,
  type PaymentFieldsFragment,
  PaymentMethodsDocument,
  PaymentStatusChangedDocument,
  type PaymentStatusChangedSubscription,
  RefundPaymentDocument,
  StartKakaoPayPaymentDocument,
  StoredPaymentMethodsDocument,
  SubmitPaymentDetailsDocument,
} from "../generated/graphql.js";
import { BETA_KEY, CLIENT_SECRET_KEY, chooseOutcome, eventually, TestGateway, tableRows } from "../support/gateway.js";

const OTHER_KEY = "a0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8e9f";
const DAY_SECONDS = 24 * 60 * 60;

/** A client secret as docs/contract.md derives it, computed here independently of the gateway's code. */
function mint(paymentId: string, expirySeconds: number, keyHex = CLIENT_SECRET_KEY): string {
  const mac = createHmac("sha256", Buffer.from(keyHex, "hex")).update(`${paymentId}.${expirySeconds}`).digest("base64url");
  return `pcs_${paymentId}.${expirySeconds}.${mac}`;
}

const expiryOf = (payment: { createdAt: string }) => Math.floor(Date.parse(payment.createdAt) / 1000) + DAY_SECONDS;

type Outcome = { code?: string; data?: Record<string, unknown> | null; body: string };

async function post<TResult, TVariables>(
  g: TestGateway,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  credential: string,
): Promise<Outcome> {
  const response = await fetch(`${g.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${credential}` },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = await response.text();
  const json = JSON.parse(body) as { data?: Record<string, unknown> | null; errors?: Array<{ extensions?: { code?: string } }> };
  return { code: json.errors?.[0]?.extensions?.code, data: json.data, body };
}

/** The first answer of a real graphql-ws subscription: an event's version, an error code, or the socket's close code. */
function firstAnswer(
  g: TestGateway,
  credential: string,
  paymentId: string,
): Promise<{ version?: number; code?: unknown; closed?: number }> {
  const client = g.ws(credential);
  return new Promise((resolve) => {
    const dispose = client.subscribe<PaymentStatusChangedSubscription>(
      { query: print(PaymentStatusChangedDocument), variables: { paymentId, afterVersion: 0 } },
      {
        next: (result) => {
          dispose();
          resolve(result.errors ? { code: result.errors[0]?.extensions?.code } : { version: result.data?.paymentStatusChanged.version });
        },
        error: (error) =>
          resolve(Array.isArray(error) ? { code: error[0]?.extensions?.code } : { closed: (error as { code?: number }).code }),
        complete: () => {},
      },
    );
  });
}

function startInput(reference: string) {
  return { input: { amount: { value: 1000, currency: "KRW" }, reference, returnUrl: "https://shop.example/r" } };
}

describe("client secrets: one payment, nothing else", () => {
  let gw: TestGateway;
  let own: PaymentFieldsFragment;
  let sibling: PaymentFieldsFragment;
  let betas: PaymentFieldsFragment;
  let charged: PaymentFieldsFragment;
  let token: { id: string; shopperReference: string };

  beforeAll(async () => {
    gw = await TestGateway.start({ SIMULATOR_WEBHOOK_DELAY_MS: "20" });
    // A stored method of alpha's, so that a token charge exists (and can be tried with a client secret).
    const storing = (
      await gw.data(StartKakaoPayPaymentDocument, {
        input: { ...startInput("cs-store").input, shopperReference: "cs-shopper", storePaymentMethod: true },
      })
    ).startKakaoPayPayment;
    await chooseOutcome((storing.action as { url: string }).url, "authorised");
    await gw.simulator.control.idle();
    const methods = await eventually(async () => {
      const listed = (await gw.data(StoredPaymentMethodsDocument, { shopperReference: "cs-shopper" })).storedPaymentMethods;
      expect(listed).toHaveLength(1);
      return listed;
    });
    token = { id: methods[0]!.id, shopperReference: "cs-shopper" };
    charged = (
      await gw.data(ChargeStoredPaymentMethodDocument, {
        input: {
          storedPaymentMethodId: token.id,
          shopperReference: token.shopperReference,
          amount: { value: 5000, currency: "KRW" },
          reference: "cs-charge",
          recurringProcessingModel: "SUBSCRIPTION",
        },
      })
    ).chargeStoredPaymentMethod;
    own = (await gw.data(StartKakaoPayPaymentDocument, startInput("cs-own"))).startKakaoPayPayment;
    sibling = (await gw.data(StartKakaoPayPaymentDocument, startInput("cs-sibling"))).startKakaoPayPayment;
    betas = (await gw.data(StartKakaoPayPaymentDocument, startInput("cs-beta"), BETA_KEY)).startKakaoPayPayment;
    await gw.simulator.control.idle();
  });
  afterAll(() => gw.close());

  /** Everything the gateway stored, to show a refused operation changed nothing. */
  async function snapshot(): Promise<string> {
    const tables = ["payments", "payment_events", "refunds", "idempotency_keys", "notification_inbox", "stored_payment_methods"] as const;
    return JSON.stringify(await Promise.all(tables.map((t) => tableRows(gw, t))));
  }

  const secrets = {
    own: () => own.clientSecret!,
    "another payment of the same key": () => sibling.clientSecret!,
    "another key's payment": () => betas.clientSecret!,
  };
  const invalid = {
    tampered: () => {
      const secret = own.clientSecret!;
      const last = secret.at(-1) === "A" ? "B" : "A";
      return secret.slice(0, -1) + last;
    },
    "a later expiry": () => own.clientSecret!.replace(`.${expiryOf(own)}.`, `.${expiryOf(own) + DAY_SECONDS}.`),
    expired: () => mint(own.id, Math.floor(Date.now() / 1000) - 60),
    "signed with another key": () => mint(own.id, expiryOf(own), OTHER_KEY),
    "made up": () => `pcs_${own.id}`,
  };

  const operations: Record<string, (credential: string) => Promise<Outcome>> = {
    payment: (c) => post(gw, PaymentDocument, { id: own.id }, c),
    submitPaymentDetails: (c) =>
      post(gw, SubmitPaymentDetailsDocument, { input: { paymentId: own.id, details: { redirectResult: "x" } } }, c),
    paymentMethods: (c) => post(gw, PaymentMethodsDocument, { input: { amount: { value: 1000, currency: "KRW" }, countryCode: "KR" } }, c),
    startKakaoPayPayment: (c) => post(gw, StartKakaoPayPaymentDocument, startInput("cs-by-client"), c),
    chargeStoredPaymentMethod: (c) =>
      post(
        gw,
        ChargeStoredPaymentMethodDocument,
        {
          input: {
            storedPaymentMethodId: token.id,
            shopperReference: token.shopperReference,
            amount: { value: 5000, currency: "KRW" },
            reference: "cs-client-charge",
            recurringProcessingModel: "UNSCHEDULED_CARD_ON_FILE",
          },
        },
        c,
      ),
    disableStoredPaymentMethod: (c) =>
      post(
        gw,
        DisableStoredPaymentMethodDocument,
        { input: { storedPaymentMethodId: token.id, shopperReference: token.shopperReference } },
        c,
      ),
    storedPaymentMethods: (c) => post(gw, StoredPaymentMethodsDocument, { shopperReference: token.shopperReference }, c),
    refundPayment: (c) => post(gw, RefundPaymentDocument, { input: { paymentId: charged.id } }, c),
  };
  const serverOnly = Object.keys(operations).filter((name) => name !== "payment" && name !== "submitPaymentDetails");

  it("startKakaoPayPayment, chargeStoredPaymentMethod and payment(id) give the server key the secret docs/contract.md derives", async () => {
    expect(own.clientSecret).toBe(mint(own.id, expiryOf(own)));
    expect(charged.clientSecret).toBe(mint(charged.id, expiryOf(charged)));
    expect(betas.clientSecret).toBe(mint(betas.id, expiryOf(betas)));
    const again = (await gw.data(PaymentDocument, { id: own.id })).payment;
    expect(again?.clientSecret).toBe(own.clientSecret);
    expect(own.clientSecret).not.toBe(sibling.clientSecret);
  });

  it("reads its own payment over HTTP, and never sees a client secret there", async () => {
    const outcome = await post(gw, PaymentDocument, { id: own.id }, own.clientSecret!);
    expect(outcome.code).toBeUndefined();
    expect(outcome.data?.payment).toMatchObject({ id: own.id, status: "ACTION_REQUIRED", clientSecret: null });
    expect(outcome.data?.payment).toMatchObject({ action: { type: "redirect" } });
    const tokenCharge = await post(gw, PaymentDocument, { id: charged.id }, charged.clientSecret!);
    expect(tokenCharge.data?.payment).toMatchObject({ id: charged.id, status: "AUTHORISED", clientSecret: null });
  });

  it.each(serverOnly.flatMap((operation) => Object.keys(secrets).map((kind) => [operation, kind] as const)))(
    "%s with a client secret (%s) is UNAUTHENTICATED and changes nothing",
    async (operation, kind) => {
      const before = await snapshot();
      const outcome = await operations[operation]!(secrets[kind as keyof typeof secrets]());
      expect(outcome.code).toBe("UNAUTHENTICATED");
      expect(outcome.data?.[operation] ?? null).toBeNull();
      expect(outcome.body).not.toContain("pcs_");
      expect(await snapshot()).toBe(before);
    },
  );

  it.each(Object.keys(operations).flatMap((operation) => Object.keys(invalid).map((kind) => [operation, kind] as const)))(
    "%s with a client secret that is %s is UNAUTHENTICATED and changes nothing",
    async (operation, kind) => {
      const before = await snapshot();
      const outcome = await operations[operation]!(invalid[kind as keyof typeof invalid]());
      expect(outcome.code).toBe("UNAUTHENTICATED");
      expect(outcome.body).not.toContain("pcs_");
      expect(await snapshot()).toBe(before);
    },
  );

  it.each(["another payment of the same key", "another key's payment"] as const)(
    "payment(id) with the secret of %s does not exist (null), and submitPaymentDetails is NOT_FOUND",
    async (kind) => {
      const before = await snapshot();
      const read = await operations.payment!(secrets[kind]());
      expect(read.code).toBeUndefined();
      expect(read.data).toEqual({ payment: null });
      const submitted = await operations.submitPaymentDetails!(secrets[kind]());
      expect(submitted.code).toBe("NOT_FOUND");
      expect(await snapshot()).toBe(before);
    },
  );

  it("follows its own payment over graphql-ws; another payment is NOT_FOUND", async () => {
    expect(await firstAnswer(gw, own.clientSecret!, own.id)).toEqual({ version: 1 });
    expect(await firstAnswer(gw, sibling.clientSecret!, own.id)).toEqual({ code: "NOT_FOUND" });
    expect(await firstAnswer(gw, betas.clientSecret!, own.id)).toEqual({ code: "NOT_FOUND" });
    expect(await firstAnswer(gw, own.clientSecret!, betas.id)).toEqual({ code: "NOT_FOUND" });
  });

  it.each(Object.keys(invalid))("a graphql-ws socket with a client secret that is %s is refused (4403)", async (kind) => {
    expect(await firstAnswer(gw, invalid[kind as keyof typeof invalid](), own.id)).toEqual({ closed: 4403 });
  });

  it("submits the shopper's details for its own payment, and still cannot refund it", async () => {
    const { redirectResult } = await chooseOutcome((own.action as { url: string }).url, "authorised");
    const submitted = await post(
      gw,
      SubmitPaymentDetailsDocument,
      { input: { paymentId: own.id, details: { redirectResult } } },
      own.clientSecret!,
    );
    expect(submitted.code).toBeUndefined();
    expect(submitted.data?.submitPaymentDetails).toMatchObject({ id: own.id, status: "AUTHORISED", clientSecret: null });
    await gw.simulator.control.idle();
    // The AUTHORISATION webhook is applied after it is acknowledged: wait for it, so only the refund could change rows.
    await eventually(async () => expect((await tableRows(gw, "notification_inbox")).every((row) => row.applied_at !== null)).toBe(true));
    const before = await snapshot();
    const refund = await post(gw, RefundPaymentDocument, { input: { paymentId: own.id } }, own.clientSecret!);
    expect(refund.code).toBe("UNAUTHENTICATED");
    expect(await snapshot()).toBe(before);
  });

  it("never writes a client secret or its key to the log", () => {
    const log = gw.lines.join("\n");
    expect(log).not.toContain("pcs_");
    expect(log).not.toContain(CLIENT_SECRET_KEY);
  });
});

describe("rotating CLIENT_SECRET_KEY", () => {
  const OLD = CLIENT_SECRET_KEY;
  const NEW = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
  const dir = mkdtempSync(join(tmpdir(), "kakaopay-rotation-"));
  let gw: TestGateway | null = null;
  afterAll(() => gw?.close());

  it("accepts the previous key's secrets during the rotation, and revokes them all once it is removed", async () => {
    gw = await TestGateway.start({ CLIENT_SECRET_KEY: OLD }, dir);
    const payment = (await gw.data(StartKakaoPayPaymentDocument, startInput("rotation"))).startKakaoPayPayment;
    const old = payment.clientSecret!;
    expect(old).toBe(mint(payment.id, expiryOf(payment), OLD));
    await gw.close({ keepData: true });

    gw = await TestGateway.start({ CLIENT_SECRET_KEY: NEW, CLIENT_SECRET_KEY_PREVIOUS: OLD }, dir);
    expect((await post(gw, PaymentDocument, { id: payment.id }, old)).data?.payment).toMatchObject({ id: payment.id });
    expect(await firstAnswer(gw, old, payment.id)).toEqual({ version: 1 });
    const renewed = (await gw.data(PaymentDocument, { id: payment.id })).payment!.clientSecret!;
    expect(renewed).toBe(mint(payment.id, expiryOf(payment), NEW));
    expect((await post(gw, PaymentDocument, { id: payment.id }, renewed)).data?.payment).toMatchObject({ id: payment.id });
    await gw.close({ keepData: true });

    gw = await TestGateway.start({ CLIENT_SECRET_KEY: NEW }, dir);
    expect((await post(gw, PaymentDocument, { id: payment.id }, old)).code).toBe("UNAUTHENTICATED");
    expect(await firstAnswer(gw, old, payment.id)).toEqual({ closed: 4403 });
    expect((await post(gw, PaymentDocument, { id: payment.id }, renewed)).data?.payment).toMatchObject({ id: payment.id });
    expect(await firstAnswer(gw, renewed, payment.id)).toEqual({ version: 1 });
  });
});
