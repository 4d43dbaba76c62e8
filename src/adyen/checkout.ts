import adyen, { type Types } from "@adyen/api-library";
import { ErrorCode, GatewayError } from "../payments/errors.js";
import type { PspReference, StoredPaymentMethodId } from "../payments/ids.js";
import { type Amount, type Channel, KAKAOPAY, type Payment, type RecurringProcessingModel } from "../payments/payment.js";
import type { Refund } from "../payments/refund.js";
import type { ProviderStoredPaymentMethod } from "../payments/stored-payment-method.js";
import type { PaymentMethodOffer, PaymentProvider, ProviderPaymentResult } from "../payments/ports.js";
import { AdyenHttpClient, type AdyenHttpOptions } from "./http-client.js";

const { Client, CheckoutAPI, EnvironmentEnum, HttpClientException } = adyen;
const CheckoutTypes = adyen.Types.checkout;
type PaymentRequest = Types.checkout.PaymentRequest;

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
  observe?: AdyenHttpOptions["observe"];
  tracing?: AdyenHttpOptions["tracing"];
}

const CHANNEL: Record<Channel, Types.checkout.PaymentRequest.ChannelEnum> = {
  ANDROID: "Android" as Types.checkout.PaymentRequest.ChannelEnum,
  IOS: "iOS" as Types.checkout.PaymentRequest.ChannelEnum,
  WEB: "Web" as Types.checkout.PaymentRequest.ChannelEnum,
};

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

  async listPaymentMethods(query: {
    amount: Amount;
    countryCode: string;
    shopperLocale: string | null;
    channel: Channel | null;
  }): Promise<PaymentMethodOffer[]> {
    const response = await this.call(() =>
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
      shopperReference: payment.shopperReference ?? undefined,
      ...(payment.storePaymentMethod
        ? {
            storePaymentMethod: true,
            shopperInteraction: CheckoutTypes.PaymentRequest.ShopperInteractionEnum.Ecommerce,
            recurringProcessingModel: RECURRING_MODEL[payment.recurringProcessingModel ?? "UNSCHEDULED_CARD_ON_FILE"],
          }
        : {}),
    };
    return this.paymentCall(idempotencyKey, () => this.checkout.PaymentsApi.payments(request, { idempotencyKey }));
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
      shopperReference: payment.shopperReference,
      shopperInteraction: CheckoutTypes.PaymentRequest.ShopperInteractionEnum.ContAuth,
      recurringProcessingModel: RECURRING_MODEL[payment.recurringProcessingModel],
    };
    return this.paymentCall(idempotencyKey, () => this.checkout.PaymentsApi.payments(request, { idempotencyKey }));
  }

  async listStoredPaymentMethods(shopperReference: string): Promise<ProviderStoredPaymentMethod[]> {
    const response = await this.call(() =>
      this.checkout.RecurringApi.getTokensForStoredPaymentDetails(shopperReference, this.options.merchantAccount),
    );
    return (response.storedPaymentMethods ?? []).flatMap((method) =>
      method.id && method.type ? [{ id: method.id, type: method.type, shopperReference: method.shopperReference ?? shopperReference }] : [],
    );
  }

  async disableStoredPaymentMethod(id: StoredPaymentMethodId, shopperReference: string): Promise<void> {
    await this.call(() =>
      this.checkout.RecurringApi.deleteTokenForStoredPaymentDetails(id, shopperReference, this.options.merchantAccount),
    );
  }

  async refundPayment(payment: Payment, refund: Refund, idempotencyKey: string): Promise<{ pspReference: PspReference }> {
    if (!payment.pspReference) throw new Error(`payment ${payment.id} has no pspReference to refund`);
    const paymentPspReference = payment.pspReference;
    try {
      const response = await this.call(() =>
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
    return this.paymentCall(idempotencyKey, () => this.checkout.PaymentsApi.paymentsDetails({ details }, { idempotencyKey }));
  }

  /** A /payments or /payments/details call, with `action` taken verbatim from Adyen's raw answer. */
  private async paymentCall(
    idempotencyKey: string,
    request: () => Promise<Types.checkout.PaymentResponse | Types.checkout.PaymentDetailsResponse>,
  ): Promise<ProviderPaymentResult> {
    let response: Types.checkout.PaymentResponse | Types.checkout.PaymentDetailsResponse;
    let body: string | undefined;
    try {
      response = await this.call(request);
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

  /** Adyen's 4xx -> PROVIDER_REJECTED with its errorCode; timeouts, network errors and 5xx -> PROVIDER_UNAVAILABLE. */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (
        error instanceof HttpClientException &&
        error.statusCode >= 400 &&
        error.statusCode < 500 &&
        error.statusCode !== 408 &&
        error.statusCode !== 429
      ) {
        throw new GatewayError(
          ErrorCode.PROVIDER_REJECTED,
          `Adyen rejected the request${error.errorCode ? ` (errorCode ${error.errorCode})` : ""}`,
          {
            providerErrorCode: error.errorCode,
          },
        );
      }
      throw new GatewayError(ErrorCode.PROVIDER_UNAVAILABLE, "Adyen is unavailable; retrying with the same idempotencyKey is safe");
    }
  }
}
