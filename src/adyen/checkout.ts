import adyen, { type Types } from "@adyen/api-library";
import { ErrorCode, GatewayError } from "../payments/errors.js";
import type { ApiKeyName, PspReference, StoredPaymentMethodId } from "../payments/ids.js";
import { type Amount, type Channel, KAKAOPAY, type Payment, type RecurringProcessingModel } from "../payments/payment.js";
import type { Refund } from "../payments/refund.js";
import type { ProviderStoredPaymentMethod } from "../payments/stored-payment-method.js";
import type { PaymentMethodOffer, PaymentProvider, ProviderPaymentResult } from "../payments/ports.js";
import type { Logger } from "../payments/logger.js";
import { classifyAdyenFailure, unavailableReason } from "./failures.js";
import { type AdyenHttpOptions, type AdyenOperation, AdyenHttpClient } from "./http-client.js";

const { Client, CheckoutAPI, EnvironmentEnum, HttpClientException } = adyen;
const CheckoutTypes = adyen.Types.checkout;
type PaymentRequest = Types.checkout.PaymentRequest;

/** Adyen's errorCode for a token it does not have (any more). */
const CONTRACT_NOT_FOUND = "800";
/** Adyen's messages are a sentence; a longer one is cut rather than passed on whole. */
const MAX_PROVIDER_MESSAGE_LENGTH = 500;

const RECURRING_MODEL: Record<RecurringProcessingModel, PaymentRequest["recurringProcessingModel"]> = {
  SUBSCRIPTION: CheckoutTypes.PaymentRequest.RecurringProcessingModelEnum.Subscription,
  UNSCHEDULED_CARD_ON_FILE: CheckoutTypes.PaymentRequest.RecurringProcessingModelEnum.UnscheduledCardOnFile,
};

export interface AdyenCheckoutOptions {
  environment: "simulator" | "test" | "live";
  apiKey: string;
  merchantAccount: string;
  liveUrlPrefix: string | null;
  timeoutMs: number;
  /** Where the simulator listens, in simulator mode. */
  simulatorUrl?: string;
  /** Each call's duration, for gateway_adyen_request_duration_seconds (measured once, in the HTTP client). */
  observe?: AdyenHttpOptions["observe"];
  tracing?: AdyenHttpOptions["tracing"];
  /** One line per failed call. */
  logger: Logger;
}

const CHANNEL: Record<Channel, Types.checkout.PaymentRequest.ChannelEnum> = {
  ANDROID: "Android" as Types.checkout.PaymentRequest.ChannelEnum,
  IOS: "iOS" as Types.checkout.PaymentRequest.ChannelEnum,
  WEB: "Web" as Types.checkout.PaymentRequest.ChannelEnum,
};

/**
 * The shopperReference Adyen sees: the app's, prefixed with its API key's name, so two apps' "shopper-42" are two
 * shoppers at Adyen and one's tokens are never listed for, or chargeable by, the other.
 */
function adyenShopperReference(owner: ApiKeyName, shopperReference: string): string {
  return `${owner}:${shopperReference}`;
}

/** PaymentProvider on Adyen Checkout v72, through @adyen/api-library. */
export class AdyenCheckout implements PaymentProvider {
  private readonly checkout: InstanceType<typeof CheckoutAPI>;
  private readonly http: AdyenHttpClient;
  private readonly logoHost: string;

  constructor(private readonly options: AdyenCheckoutOptions) {
    const live = options.environment === "live";
    const httpClient = new AdyenHttpClient({
      apiKey: options.apiKey,
      timeoutMs: options.timeoutMs,
      baseUrl: options.environment === "simulator" ? options.simulatorUrl : undefined,
      observe: options.observe,
      tracing: options.tracing,
    });
    this.http = httpClient;
    const client = new Client(
      {
        apiKey: options.apiKey,
        environment: live ? EnvironmentEnum.LIVE : EnvironmentEnum.TEST,
        liveEndpointUrlPrefix: options.liveUrlPrefix ?? undefined,
        connectionTimeoutMillis: options.timeoutMs,
      },
      httpClient,
    );
    this.checkout = new CheckoutAPI(client);
    this.logoHost = live ? "https://checkoutshopper-live.adyen.com" : "https://checkoutshopper-test.adyen.com";
  }

  /** Closes the kept-alive connections to Adyen (at shutdown). */
  close(): void {
    this.http.close();
  }

  async listPaymentMethods(query: {
    amount: Amount;
    countryCode: string;
    shopperLocale: string | null;
    channel: Channel | null;
  }): Promise<PaymentMethodOffer[]> {
    const response = await this.call("paymentMethods", () =>
      this.checkout.PaymentsApi.paymentMethods({
        merchantAccount: this.options.merchantAccount,
        amount: query.amount,
        countryCode: query.countryCode,
        shopperLocale: query.shopperLocale ?? undefined,
        channel: query.channel ? (CHANNEL[query.channel] as string as Types.checkout.PaymentMethodsRequest.ChannelEnum) : undefined,
      }),
    );
    return (response.paymentMethods ?? []).flatMap((method) =>
      method.type ? [{ type: method.type, name: method.name ?? method.type, logoUrl: this.logoUrl(method.type) }] : [],
    );
  }

  async startRedirectPayment(payment: Payment, idempotencyKey: string): Promise<ProviderPaymentResult> {
    const request: PaymentRequest = {
      merchantAccount: this.options.merchantAccount,
      amount: payment.amount,
      reference: payment.reference,
      paymentMethod: { type: KAKAOPAY } as PaymentRequest["paymentMethod"],
      returnUrl: payment.returnUrl ?? "",
      countryCode: payment.countryCode,
      shopperLocale: payment.shopperLocale ?? undefined,
      channel: payment.channel ? CHANNEL[payment.channel] : undefined,
      shopperReference: payment.shopperReference === null ? undefined : adyenShopperReference(payment.owner, payment.shopperReference),
      ...(payment.storePaymentMethod
        ? {
            storePaymentMethod: true,
            shopperInteraction: CheckoutTypes.PaymentRequest.ShopperInteractionEnum.Ecommerce,
            recurringProcessingModel: RECURRING_MODEL[payment.recurringProcessingModel ?? "UNSCHEDULED_CARD_ON_FILE"],
          }
        : {}),
    };
    return this.paymentCall("payments", idempotencyKey, () => this.checkout.PaymentsApi.payments(request, { idempotencyKey }));
  }

  async chargeStoredPaymentMethod(payment: Payment, idempotencyKey: string): Promise<ProviderPaymentResult> {
    if (!payment.storedPaymentMethodId || !payment.shopperReference || !payment.recurringProcessingModel) {
      throw new Error(`payment ${payment.id} is not a token charge`);
    }
    const request: PaymentRequest = {
      merchantAccount: this.options.merchantAccount,
      amount: payment.amount,
      reference: payment.reference,
      paymentMethod: {
        type: CheckoutTypes.StoredPaymentMethodDetails.TypeEnum.Kakaopay,
        storedPaymentMethodId: payment.storedPaymentMethodId,
      },
      // Adyen's spec requires a returnUrl on every /payments; a ContAuth charge never redirects.
      returnUrl: payment.returnUrl ?? "",
      countryCode: payment.countryCode,
      shopperReference: adyenShopperReference(payment.owner, payment.shopperReference),
      shopperInteraction: CheckoutTypes.PaymentRequest.ShopperInteractionEnum.ContAuth,
      recurringProcessingModel: RECURRING_MODEL[payment.recurringProcessingModel],
    };
    return this.paymentCall("payments", idempotencyKey, () => this.checkout.PaymentsApi.payments(request, { idempotencyKey }));
  }

  async listStoredPaymentMethods(owner: ApiKeyName, shopperReference: string): Promise<ProviderStoredPaymentMethod[]> {
    const atAdyen = adyenShopperReference(owner, shopperReference);
    const response = await this.call("storedPaymentMethods", () =>
      this.checkout.RecurringApi.getTokensForStoredPaymentDetails(atAdyen, this.options.merchantAccount),
    );
    return (response.storedPaymentMethods ?? []).flatMap((method) =>
      method.id && method.type
        ? [
            {
              id: method.id,
              type: method.type,
              shopperReference: (method.shopperReference ?? atAdyen) === atAdyen ? shopperReference : null,
              firstPspReference: method.firstPspReference ?? null,
            },
          ]
        : [],
    );
  }

  async disableStoredPaymentMethod(owner: ApiKeyName, id: StoredPaymentMethodId, shopperReference: string): Promise<void> {
    try {
      await this.call("storedPaymentMethods", () =>
        this.checkout.RecurringApi.deleteTokenForStoredPaymentDetails(
          id,
          adyenShopperReference(owner, shopperReference),
          this.options.merchantAccount,
        ),
      );
    } catch (error) {
      // "Contract not found": an earlier DELETE went through (our write after it failed), so it is disabled at Adyen.
      if (error instanceof GatewayError && error.details.providerErrorCode === CONTRACT_NOT_FOUND) return;
      throw error;
    }
  }

  async refundPayment(payment: Payment, refund: Refund, idempotencyKey: string): Promise<{ pspReference: PspReference }> {
    if (!payment.pspReference) throw new Error(`payment ${payment.id} has no pspReference to refund`);
    const paymentPspReference = payment.pspReference;
    try {
      const response = await this.call("refunds", () =>
        this.checkout.ModificationsApi.refundCapturedPayment(
          paymentPspReference,
          { merchantAccount: this.options.merchantAccount, amount: refund.amount, reference: refund.reference },
          { idempotencyKey },
        ),
      );
      return { pspReference: response.pspReference as PspReference };
    } finally {
      // Only /payments answers are read raw; this one must not stay behind in the client.
      this.http.takeRawAnswer(idempotencyKey);
    }
  }

  async submitDetails(details: Record<string, string>, idempotencyKey: string): Promise<ProviderPaymentResult> {
    return this.paymentCall("paymentsDetails", idempotencyKey, () =>
      this.checkout.PaymentsApi.paymentsDetails({ details }, { idempotencyKey }),
    );
  }

  /** A /payments or /payments/details call, with `action` taken verbatim from Adyen's raw answer. */
  private async paymentCall(
    operation: AdyenOperation,
    idempotencyKey: string,
    request: () => Promise<Types.checkout.PaymentResponse | Types.checkout.PaymentDetailsResponse>,
  ): Promise<ProviderPaymentResult> {
    let response: Types.checkout.PaymentResponse | Types.checkout.PaymentDetailsResponse;
    let body: string | undefined;
    try {
      response = await this.call(operation, request, idempotencyKey);
    } finally {
      body = this.http.takeRawAnswer(idempotencyKey);
    }
    if (!response.resultCode) throw new GatewayError(ErrorCode.PROVIDER_UNAVAILABLE, "Adyen answered without a resultCode");
    const raw = body ? (JSON.parse(body) as { action?: unknown }) : {};
    return {
      resultCode: response.resultCode,
      pspReference: (response.pspReference as PspReference | undefined) ?? null,
      refusalReason: response.refusalReason ?? null,
      action: raw.action ?? null,
    };
  }

  /** Adyen's checkout logo CDN: one SVG per payment method type. */
  private logoUrl(type: string): string {
    return `${this.logoHost}/checkoutshopper/images/logos/${encodeURIComponent(type)}.svg`;
  }

  /**
   * Adyen's verdicts -> PROVIDER_REJECTED with its errorCode and message; no answer or a transient one ->
   * PROVIDER_UNAVAILABLE. Every failure is logged with what an operator needs, never the API key or the request.
   */
  private async call<T>(operation: AdyenOperation, request: () => Promise<T>, idempotencyKey?: string): Promise<T> {
    const started = performance.now();
    try {
      return await request();
    } catch (error) {
      const latencyMs = Math.round(performance.now() - started);
      const http = error instanceof HttpClientException ? error : undefined;
      const kind = http ? classifyAdyenFailure(http.statusCode, http.errorCode) : "unavailable";
      this.options.logger.warn(
        {
          operation,
          kind,
          status: http ? http.statusCode || "none" : "unknown",
          errorCode: http?.errorCode ?? "none",
          ...(http?.apiError?.pspReference ? { pspReference: http.apiError.pspReference } : {}),
          ...(idempotencyKey ? { idempotencyKey } : {}),
          latencyMs,
          // Adyen's message names no secret; an exception of our own (e.g. the library parsing) is named, not quoted.
          adyenMessage: http ? (http.apiError?.message ?? http.message) : error instanceof Error ? error.name : "unknown",
        },
        `adyen ${operation} failed: ${kind}`,
      );
      if (http && kind === "rejected") {
        // Adyen's message says what was wrong with the request and names no secret (docs/contract.md "Errors").
        const message = http.apiError?.message?.trim().slice(0, MAX_PROVIDER_MESSAGE_LENGTH);
        throw new GatewayError(ErrorCode.PROVIDER_REJECTED, message || `Adyen rejected the request (HTTP ${http.statusCode})`, {
          providerErrorCode: http.errorCode,
        });
      }
      // What a retry means depends on the request: the use case that made it says so (src/payments/use-cases.ts).
      throw new GatewayError(
        ErrorCode.PROVIDER_UNAVAILABLE,
        http ? unavailableReason(http.statusCode, http.errorCode, http.message) : "Adyen's answer could not be read",
      );
    }
  }
}
