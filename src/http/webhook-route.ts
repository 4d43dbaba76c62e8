import type { IncomingMessage, ServerResponse } from "node:http";
import { checkBasicAuth, hasValidSignature, MalformedNotification, parseNotificationRequest } from "../adyen/webhooks.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { Logger } from "../payments/logger.js";
import type { PaymentWebhooks } from "../payments/webhooks.js";
import { BodyTooLarge, readBody } from "./body.js";

export const WEBHOOK_BODY_LIMIT = 256 * 1024;

export interface WebhookRouteOptions {
  webhooks: PaymentWebhooks;
  username: string;
  password: string;
  hmacKeys: readonly string[];
  metrics: GatewayMetrics;
}

/**
 * POST /webhooks/adyen: basic auth, then the HMAC of every item; stored durably (and applied with the save when its
 * payment is known), then `[accepted]`, then the rest applied. A 401 stores nothing: Adyen retries, so nothing is lost
 * once the credentials are fixed.
 */
export function webhookRoute(options: WebhookRouteOptions) {
  const answer = (response: ServerResponse, status: 200 | 400 | 401 | 413, text: string, headers: Record<string, string> = {}) => {
    options.metrics.webhookRequest(status);
    response.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers });
    response.end(text);
  };
  return async (request: IncomingMessage, response: ServerResponse, _search: string, parent: Logger): Promise<void> => {
    const log = parent.child({ operation: "webhook" });
    if (!checkBasicAuth(request.headers.authorization, options.username, options.password)) {
      // A rotated password on one side only: every webhook is refused until both agree (Adyen keeps retrying).
      log.warn({ code: 401 }, "webhook rejected: basic auth does not match (check ADYEN_WEBHOOK_USERNAME and ADYEN_WEBHOOK_PASSWORD)");
      return answer(response, 401, "unauthorized", { "www-authenticate": 'Basic realm="adyen-webhooks"' });
    }
    let body: string;
    try {
      body = (await readBody(request, WEBHOOK_BODY_LIMIT)).toString("utf8");
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        log.warn({ code: 413 }, "webhook rejected: body too large");
        return answer(response, 413, "body too large");
      }
      throw error;
    }
    let parsed: ReturnType<typeof parseNotificationRequest>;
    try {
      parsed = parseNotificationRequest(body);
    } catch (error) {
      if (error instanceof MalformedNotification) {
        log.warn({ code: 400, problem: error.message }, "webhook rejected: malformed notification");
        return answer(response, 400, `malformed notification: ${error.message}`);
      }
      throw error;
    }
    if (!parsed.every(({ item }) => hasValidSignature(item, options.hmacKeys))) {
      const pspReferences = parsed.map(({ item }) => item.pspReference);
      log.warn({ code: 401, pspReferences }, "webhook rejected: HMAC signature does not match (check ADYEN_HMAC_KEY)");
      return answer(response, 401, "invalid hmac signature");
    }
    const toApply = await options.webhooks.receive(parsed.map((p) => p.notification));
    // toApply: the new items not applied with their save (duplicates and items applied at once are not among them).
    log.info(
      {
        code: 200,
        items: parsed.map(({ item }) => ({ pspReference: item.pspReference, eventCode: item.eventCode })),
        toApply: toApply.length,
      },
      "webhook accepted",
    );
    answer(response, 200, "[accepted]");
    await options.webhooks.apply(toApply);
  };
}
