import { OUTCOME_RESULTS, type PaymentLifecycle } from "./lifecycle.js";
import { contractNotFound, internalError, invalidMerchantAccount, validation, type ServiceError } from "./service-errors.js";
import type { CheckoutOperationId } from "./spec.js";
import {
  newPspReference,
  newSessionId,
  type Amount,
  type Ledger,
  type SimulatedPayment,
  type SimulatedRefund,
  type StoredPaymentMethod,
} from "./state.js";

/** An answer to a Checkout call: status and JSON body (none for 204). */
export interface CheckoutResponse {
  status: number;
  body: unknown;
  /** Processed and remembered for its Idempotency-Key, but this first answer is never sent (the caller times out). */
  withheld?: boolean;
}

/** A request that already passed the spec's validation, so its fields have the spec's types. */
export interface CheckoutRequest {
  body: unknown;
  parameters: Record<string, string>;
  idempotencyKey?: string;
}

// The subsets of the spec's request schemas that the simulator reads.
interface PaymentMethodsRequestBody {
  merchantAccount: string;
  amount?: Amount;
  countryCode?: string;
  allowedPaymentMethods?: string[];
  blockedPaymentMethods?: string[];
}

interface PaymentRequestBody {
  merchantAccount: string;
  amount: Amount;
  reference: string;
  returnUrl: string;
  paymentMethod: { type?: string; storedPaymentMethodId?: string; recurringDetailReference?: string };
  shopperReference?: string;
  storePaymentMethod?: boolean;
  shopperInteraction?: string;
  recurringProcessingModel?: string;
}

interface RefundRequestBody {
  merchantAccount: string;
  amount: Amount;
  reference?: string;
}

/** A DOWN… refund is answered 500 without being processed this many times, then normally. */
const DOWN_REFUSALS = 2;

interface PaymentDetailsRequestBody {
  details: { redirectResult?: string };
}

const KAKAOPAY = "kakaopay";
const TOKEN_RECURRING_MODELS = ["Subscription", "UnscheduledCardOnFile"];

const ok = (body: unknown): CheckoutResponse => ({ status: 200, body });
const reject = (error: ServiceError): CheckoutResponse => ({ status: error.status, body: error });

/** The Checkout v72 operations of a KakaoPay-only Adyen merchant account. */
export class CheckoutApi {
  constructor(
    private readonly deps: {
      ledger: Ledger;
      lifecycle: PaymentLifecycle;
      merchantAccount: string;
      /** Base URL of the hosted pages, as the shopper's browser reaches them. */
      publicUrl: string;
    },
  ) {}

  handle(operation: CheckoutOperationId, request: CheckoutRequest): CheckoutResponse {
    switch (operation) {
      case "paymentMethods":
        return this.paymentMethods(request.body as PaymentMethodsRequestBody);
      case "payments":
        return this.payments(request.body as PaymentRequestBody);
      case "paymentDetails":
        return this.paymentDetails(request.body as PaymentDetailsRequestBody);
      case "listStoredPaymentMethods":
        return this.listStoredPaymentMethods(request.parameters);
      case "deleteStoredPaymentMethod":
        return this.deleteStoredPaymentMethod(request.parameters);
      case "refundCapturedPayment":
        return this.refund(request.parameters["paymentPspReference"] ?? "", request.body as RefundRequestBody, request.idempotencyKey);
    }
  }

  /**
   * POST /payments/{paymentPspReference}/refunds: 201 `received`, then the REFUND webhook decides. The reference
   * prefixes SLOW and DOWN are faults on purpose: SLOW is processed but its first answer never sent; DOWN is answered
   * 500, unprocessed, twice (per Idempotency-Key, else per reference) before it goes through.
   */
  private refund(paymentPspReference: string, body: RefundRequestBody, idempotencyKey: string | undefined): CheckoutResponse {
    if (body.merchantAccount !== this.deps.merchantAccount) return reject(invalidMerchantAccount());
    const reference = body.reference ?? "";
    if (
      reference.startsWith("DOWN") &&
      this.deps.ledger.refusedAttempt(idempotencyKey ?? `${paymentPspReference} ${reference}`) <= DOWN_REFUSALS
    ) {
      return reject(internalError());
    }
    const payment = this.deps.ledger.paymentByPspReference(paymentPspReference);
    if (payment === undefined) return reject(validation("167", "Original pspReference required for this operation"));
    if (payment.status !== "Authorised") return reject(validation("167", "The payment is not authorised: there is nothing to refund"));
    if (body.amount.currency !== payment.amount.currency) return reject(validation("138", "Unsupported currency specified"));
    if (body.amount.value <= 0 || body.amount.value > this.deps.ledger.refundableValue(payment)) {
      return reject(validation("137", "Invalid amount specified: more than is left to refund"));
    }
    const refund: SimulatedRefund = {
      pspReference: newPspReference(),
      paymentPspReference,
      reference: body.reference ?? payment.reference,
      amount: { value: body.amount.value, currency: body.amount.currency },
      createdAt: new Date(),
      counts: true,
    };
    this.deps.ledger.addRefund(refund);
    this.deps.lifecycle.confirmRefund(refund);
    return {
      status: 201,
      body: {
        merchantAccount: this.deps.merchantAccount,
        paymentPspReference,
        pspReference: refund.pspReference,
        ...(body.reference === undefined ? {} : { reference: body.reference }),
        amount: refund.amount,
        status: "received",
      },
      ...(reference.startsWith("SLOW") ? { withheld: true } : {}),
    };
  }

  private paymentMethods(body: PaymentMethodsRequestBody): CheckoutResponse {
    if (body.merchantAccount !== this.deps.merchantAccount) return reject(invalidMerchantAccount());
    // KakaoPay is offered to Korean shoppers paying in won; an absent filter does not exclude it.
    const offered =
      (body.countryCode === undefined || body.countryCode === "KR") &&
      (body.amount === undefined || body.amount.currency === "KRW") &&
      (body.allowedPaymentMethods === undefined ||
        body.allowedPaymentMethods.length === 0 ||
        body.allowedPaymentMethods.includes(KAKAOPAY)) &&
      !(body.blockedPaymentMethods ?? []).includes(KAKAOPAY);
    return ok({ paymentMethods: offered ? [{ name: "KakaoPay", type: KAKAOPAY }] : [] });
  }

  private payments(body: PaymentRequestBody): CheckoutResponse {
    if (body.merchantAccount !== this.deps.merchantAccount) return reject(invalidMerchantAccount());
    if (body.paymentMethod.type !== KAKAOPAY) return reject(validation("905", "Payment details are not supported"));
    if (body.amount.currency !== "KRW") return reject(validation("138", "Unsupported currency specified"));
    if (body.amount.value <= 0) return reject(validation("137", "Invalid amount specified"));
    // recurringDetailReference is the deprecated name of storedPaymentMethodId; Adyen still accepts it.
    const tokenId = body.paymentMethod.storedPaymentMethodId ?? body.paymentMethod.recurringDetailReference;
    return tokenId === undefined ? this.startRedirect(body) : this.chargeToken(body, tokenId);
  }

  private startRedirect(body: PaymentRequestBody): CheckoutResponse {
    if (!URL.canParse(body.returnUrl)) return reject(validation("000", "Field 'returnUrl' is not a valid URL"));
    if (body.storePaymentMethod === true && body.shopperReference === undefined) {
      return reject(validation("000", "Recurring payments require a shopperReference"));
    }
    const session = { id: newSessionId(), returnUrl: body.returnUrl };
    const payment: SimulatedPayment = {
      pspReference: newPspReference(),
      reference: body.reference,
      amount: { value: body.amount.value, currency: body.amount.currency },
      shopperReference: body.shopperReference,
      status: "RedirectShopper",
      createdAt: new Date(),
      session,
      storePaymentMethod: body.storePaymentMethod === true,
      storedPaymentMethodId: undefined,
    };
    this.deps.ledger.addPayment(payment);
    this.deps.lifecycle.openSession(payment, session);
    return ok({
      resultCode: "RedirectShopper",
      pspReference: payment.pspReference,
      merchantReference: payment.reference,
      action: {
        type: "redirect",
        paymentMethodType: KAKAOPAY,
        method: "GET",
        url: `${this.deps.publicUrl}/hpp/kakaopay/${session.id}`,
      },
    });
  }

  private chargeToken(body: PaymentRequestBody, tokenId: string): CheckoutResponse {
    if (body.shopperReference === undefined) return reject(validation("000", "Recurring payments require a shopperReference"));
    if (body.shopperInteraction !== "ContAuth") {
      return reject(validation("000", "A stored KakaoPay method is charged with shopperInteraction ContAuth"));
    }
    if (body.recurringProcessingModel === undefined || !TOKEN_RECURRING_MODELS.includes(body.recurringProcessingModel)) {
      return reject(
        validation("000", "A stored KakaoPay method is charged with recurringProcessingModel Subscription or UnscheduledCardOnFile"),
      );
    }
    const token = this.deps.ledger.storedPaymentMethod(tokenId);
    if (token === undefined || !token.active || token.shopperReference !== body.shopperReference) {
      return reject(contractNotFound());
    }
    const payment: SimulatedPayment = {
      pspReference: newPspReference(),
      reference: body.reference,
      amount: { value: body.amount.value, currency: body.amount.currency },
      shopperReference: body.shopperReference,
      status: "Authorised",
      createdAt: new Date(),
      session: undefined,
      storePaymentMethod: false,
      storedPaymentMethodId: token.id,
    };
    this.deps.ledger.addPayment(payment);
    this.deps.lifecycle.confirmTokenCharge(payment);
    return ok({
      resultCode: "Authorised",
      pspReference: payment.pspReference,
      merchantReference: payment.reference,
      amount: payment.amount,
    });
  }

  private paymentDetails(body: PaymentDetailsRequestBody): CheckoutResponse {
    const redirectResult = body.details.redirectResult;
    if (redirectResult === undefined) return reject(validation("000", "Required field 'details.redirectResult' is not provided."));
    const payment = this.deps.ledger.paymentByRedirectResult(redirectResult);
    const outcome = payment?.session?.outcome;
    if (payment === undefined || outcome === undefined) return reject(validation("000", "Invalid redirectResult"));
    // The answer reflects the shopper's choice, so a repeated call answers the same even after a pending payment settles.
    const { resultCode, refusalReason, refusalReasonCode } = OUTCOME_RESULTS[outcome];
    return ok({
      resultCode,
      pspReference: payment.pspReference,
      merchantReference: payment.reference,
      amount: payment.amount,
      ...(refusalReason === undefined ? {} : { refusalReason }),
      ...(refusalReasonCode === undefined ? {} : { refusalReasonCode }),
    });
  }

  private listStoredPaymentMethods(parameters: Record<string, string>): CheckoutResponse {
    const denied = this.checkShopperQuery(parameters);
    if (denied !== undefined) return reject(denied);
    const shopperReference = parameters["shopperReference"] ?? "";
    return ok({
      merchantAccount: this.deps.merchantAccount,
      shopperReference,
      storedPaymentMethods: this.deps.ledger.activeStoredPaymentMethods(shopperReference).map(storedPaymentMethodResource),
    });
  }

  private deleteStoredPaymentMethod(parameters: Record<string, string>): CheckoutResponse {
    const denied = this.checkShopperQuery(parameters);
    if (denied !== undefined) return reject(denied);
    const token = this.deps.ledger.storedPaymentMethod(parameters["storedPaymentMethodId"] ?? "");
    if (token === undefined || !token.active || token.shopperReference !== parameters["shopperReference"]) {
      return reject(contractNotFound());
    }
    token.active = false;
    return { status: 204, body: undefined };
  }

  /** Both stored-method calls name the merchant and the shopper; the spec leaves them optional on GET, Adyen does not. */
  private checkShopperQuery(parameters: Record<string, string>): ServiceError | undefined {
    for (const name of ["merchantAccount", "shopperReference"]) {
      if (parameters[name] === undefined) return validation("000", `Required field '${name}' is not provided.`);
    }
    if (parameters["merchantAccount"] !== this.deps.merchantAccount) return invalidMerchantAccount();
    return undefined;
  }
}

function storedPaymentMethodResource(method: StoredPaymentMethod): Record<string, unknown> {
  return {
    id: method.id,
    type: KAKAOPAY,
    name: "KakaoPay",
    shopperReference: method.shopperReference,
    firstPspReference: method.firstPspReference,
    createdAt: method.createdAt.toISOString(),
    supportedRecurringProcessingModels: TOKEN_RECURRING_MODELS,
  };
}
