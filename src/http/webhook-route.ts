import type { IncomingMessage, ServerResponse } from "node:http";
import { checkBasicAuth, hasValidSignature, MalformedNotification, parseNotificationRequest } from "../adyen/webhooks.js";
import type { PaymentWebhooks } from "../payments/webhooks.js";
import { BodyTooLarge, readBody } from "./body.js";

export const WEBHOOK_BODY_LIMIT = 256 * 1024;

export interface WebhookRouteOptions {
  webhooks: PaymentWebhooks;
  username: string;
  password: string;
  hmacKeys: readonly string[];
  log: (line: string) => void;
}

/**
 * POST /webhooks/adyen: basic auth, then the HMAC of every item; stored durably, then `[accepted]`, then
 * applied. A 401 stores nothing: Adyen retries, so nothing is lost once the credentials are fixed.
 */
export function webhookRoute(options: WebhookRouteOptions) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (!checkBasicAuth(request.headers.authorization, options.username, options.password)) {
      return answer(response, 401, "unauthorized", { "www-authenticate": 'Basic realm="adyen-webhooks"' });
    }
    let body: string;
    try {
      body = (await readBody(request, WEBHOOK_BODY_LIMIT)).toString("utf8");
    } catch (error) {
      if (error instanceof BodyTooLarge) return answer(response, 413, "body too large");
      throw error;
    }
    let parsed: ReturnType<typeof parseNotificationRequest>;
    try {
      parsed = parseNotificationRequest(body);
    } catch (error) {
      if (error instanceof MalformedNotification) return answer(response, 400, `malformed notification: ${error.message}`);
      throw error;
    }
    if (!parsed.every(({ item }) => hasValidSignature(item, options.hmacKeys))) {
      options.log("webhook rejected: HMAC signature does not match (check ADYEN_HMAC_KEY)");
      return answer(response, 401, "invalid hmac signature");
    }
    const fresh = await options.webhooks.receive(parsed.map((p) => p.notification));
    answer(response, 200, "[accepted]");
    await options.webhooks.apply(fresh);
  };
}

function answer(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers });
  response.end(text);
}
