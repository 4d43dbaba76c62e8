import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { BodyTooLargeError, mediaType, readBody } from "./http-io.js";
import type { PaymentLifecycle } from "./lifecycle.js";
import { SHOPPER_OUTCOMES, type Amount, type Ledger, type RedirectSession, type ShopperOutcome, type SimulatedPayment } from "./state.js";

const FORM_LIMIT_BYTES = 4_096;

const STYLE = `
:root{color-scheme:light;font-family:system-ui,-apple-system,"Apple SD Gothic Neo","Malgun Gothic",sans-serif}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:grid;place-items:center;background:#f4f4f5;color:#191919}
.sheet{width:min(420px,100% - 32px);margin:32px 0;padding:28px;background:#ffffff;border-radius:20px;box-shadow:0 12px 40px rgba(0,0,0,.08)}
.brand{display:flex;align-items:center;gap:10px;font-size:20px}
.logo{display:inline-grid;place-items:center;width:40px;height:40px;border-radius:12px;background:#fee500;font-size:13px;font-weight:800}
.badge{margin-left:auto;padding:4px 10px;border-radius:999px;background:#f4f4f5;color:#52525b;font-size:12px}
.summary{display:grid;grid-template-columns:auto 1fr;align-items:baseline;gap:4px 16px;margin:0 0 12px}
.merchant{color:#52525b;font-size:15px}
.amount{font-size:40px;font-weight:800;letter-spacing:-.02em}
dl{display:grid;grid-template-columns:auto 1fr;gap:6px 16px;margin:0 0 24px;font-size:14px}
dt{color:#71717a}
dd{margin:0;text-align:right;word-break:break-all;font-variant-numeric:tabular-nums}
form,.choices{display:grid;gap:10px}
.choices{grid-template-columns:1fr 1fr}
button{padding:14px;border:1px solid #e4e4e7;border-radius:12px;background:#fff;color:#191919;font:inherit;font-size:15px;cursor:pointer}
button:hover{background:#fafafa}
button.pay{border-color:#fee500;background:#fee500;font-size:17px;font-weight:700}
button.pay:hover{background:#fdd800}
h1{margin:28px 0 16px;font-size:22px}
a.back{display:block;padding:14px;border-radius:12px;background:#fee500;color:#191919;font-weight:700;text-align:center;text-decoration:none}
.note{margin:24px 0 0;color:#6b6b73;font-size:12px;text-align:center}
`;

// Nothing is loaded from anywhere and no script runs; the inline style is allowed by its hash only.
// No form-action: browsers apply it to the 303 that follows the form, which goes to the merchant's returnUrl.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${createHash("sha256").update(STYLE).digest("base64")}'`,
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

const OUTCOME_BUTTONS: ReadonlyArray<{ outcome: Exclude<ShopperOutcome, "authorised">; label: string }> = [
  { outcome: "refused", label: "Refuse" },
  { outcome: "cancelled", label: "Cancel" },
  { outcome: "error", label: "Fail with an error" },
  { outcome: "pending", label: "Leave pending" },
];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** An amount in minor units shown in its currency, e.g. 12300 KRW as ₩12,300 (KRW has no decimals). */
export function formatAmount(amount: Amount): string {
  const format = new Intl.NumberFormat("ko-KR", { style: "currency", currency: amount.currency });
  return format.format(amount.value / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 0));
}

/**
 * Adds redirectResult to the returnUrl's query, leaving its scheme, the rest of its query and fragment as they were.
 * A redirectResult the returnUrl already carries is replaced: the app must read exactly one.
 */
export function returnUrlWithRedirectResult(returnUrl: string, redirectResult: string): string {
  const url = new URL(returnUrl);
  const kept = url.search
    .slice(1)
    .split("&")
    .filter((pair) => pair !== "" && decodeURIComponent(pair.split("=")[0]!.replaceAll("+", " ")) !== "redirectResult");
  url.search = [...kept, `redirectResult=${encodeURIComponent(redirectResult)}`].join("&");
  return url.href;
}

function htmlDocument(title: string, content: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main class="sheet">
<header class="brand"><span class="logo" aria-hidden="true">pay</span><span>kakao<strong>pay</strong></span><span class="badge">Simulator</span></header>
${content}
<p class="note">An offline stand-in for KakaoPay, served by the Adyen simulator. No money moves.</p>
</main>
</body>
</html>
`;
}

function paymentPage(payment: SimulatedPayment, merchantAccount: string): string {
  const amount = escapeHtml(formatAmount(payment.amount));
  const buttons = OUTCOME_BUTTONS.map(
    ({ outcome, label }) => `<button type="submit" name="outcome" value="${outcome}">${escapeHtml(label)}</button>`,
  ).join("\n");
  return htmlDocument(
    `KakaoPay: pay ${formatAmount(payment.amount)}`,
    `<h1>Confirm your payment</h1>
<dl class="summary">
<dt>Merchant</dt><dd class="merchant">${escapeHtml(merchantAccount)}</dd>
<dt>Amount</dt><dd class="amount">${amount}</dd>
</dl>
<dl>
<dt>Reference</dt><dd>${escapeHtml(payment.reference)}</dd>
<dt>PSP reference</dt><dd>${escapeHtml(payment.pspReference)}</dd>
</dl>
<form method="post">
<button type="submit" class="pay" name="outcome" value="authorised">Pay ${amount}</button>
<div class="choices">
${buttons}
</div>
</form>`,
  );
}

function messagePage(title: string, message: string, link?: { href: string; label: string }): string {
  const back = link ? `\n<a class="back" href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a>` : "";
  return htmlDocument(`KakaoPay: ${title}`, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>${back}`);
}

const expiredPage = (): string => messagePage("Session expired", "This KakaoPay session expired before the payment was completed.");

/** A reload or the back button after the choice: nothing more to choose, but the way back to the app stays open. */
const decidedPage = (session: RedirectSession, outcome: ShopperOutcome): string =>
  messagePage(
    "Already decided",
    `The shopper already chose: ${outcome}. Nothing more can be chosen here.`,
    session.redirectResult === undefined
      ? undefined
      : { href: returnUrlWithRedirectResult(session.returnUrl, session.redirectResult), label: "Back to the shop" },
  );

function sendHtml(response: ServerResponse, status: number, html: string): void {
  response
    .writeHead(status, {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": CONTENT_SECURITY_POLICY,
      "x-content-type-options": "nosniff",
      // The session id in the URL is a capability: keep it out of Referer headers and caches.
      "referrer-policy": "no-referrer",
      "cache-control": "no-store",
    })
    .end(html);
}

/** The KakaoPay page a redirect action points at: shows the payment and takes the shopper's choice. */
export class HostedPaymentPage {
  constructor(private readonly deps: { ledger: Ledger; lifecycle: PaymentLifecycle; merchantAccount: string }) {}

  async handle(request: IncomingMessage, response: ServerResponse, sessionId: string): Promise<void> {
    const payment = this.deps.ledger.paymentBySession(sessionId);
    const session = payment?.session;
    if (payment === undefined || session === undefined) {
      sendHtml(response, 404, messagePage("Payment not found", "There is no KakaoPay payment at this address."));
      return;
    }
    if (request.method !== "GET" && request.method !== "POST") {
      response.setHeader("allow", "GET, POST");
      sendHtml(response, 405, messagePage("Method not allowed", "This page only answers GET and POST."));
      return;
    }
    if (request.method === "GET") {
      if (payment.status === "Expired") sendHtml(response, 410, expiredPage());
      else if (session.outcome !== undefined) sendHtml(response, 200, decidedPage(session, session.outcome));
      else sendHtml(response, 200, paymentPage(payment, this.deps.merchantAccount));
      return;
    }

    if (mediaType(request) !== "application/x-www-form-urlencoded") {
      sendHtml(response, 415, messagePage("Unsupported form", "Submit the form on this page."));
      return;
    }
    let form: URLSearchParams;
    try {
      form = new URLSearchParams(await readBody(request, FORM_LIMIT_BYTES));
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      sendHtml(response, 413, messagePage("Form too large", "Submit the form on this page."));
      return;
    }
    const outcome = SHOPPER_OUTCOMES.find((candidate) => candidate === form.get("outcome"));
    if (outcome === undefined) {
      sendHtml(response, 400, messagePage("Unknown choice", "Choose one of the buttons on this page."));
      return;
    }
    if (payment.status === "Expired") {
      sendHtml(response, 410, expiredPage());
      return;
    }
    if (session.outcome !== undefined) {
      sendHtml(response, 409, decidedPage(session, session.outcome));
      return;
    }
    const redirectResult = this.deps.lifecycle.chooseOutcome(payment, session, outcome);
    response
      .writeHead(303, {
        location: returnUrlWithRedirectResult(session.returnUrl, redirectResult),
        "referrer-policy": "no-referrer",
        "cache-control": "no-store",
      })
      .end();
  }
}
