import { createHash } from "node:crypto";

// Bare specifiers, as a merchant's bundler would resolve them, mapped to the npm packages' own files that the
// gateway serves: nothing is loaded from a CDN.
const IMPORT_MAP = JSON.stringify({
  imports: {
    "@adyen/adyen-web": "/demo/vendor/adyen-web/index.js",
    "graphql-ws": "/demo/vendor/graphql-ws/client.js",
  },
});

/** The demo's policy: everything from 'self' only; the inline import map is allowed by its hash. */
export const DEMO_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  `script-src 'self' 'sha256-${createHash("sha256").update(IMPORT_MAP).digest("base64")}'`,
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

export const DEMO_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Demo shop: pay with KakaoPay</title>
<link rel="stylesheet" href="/demo/vendor/adyen-web/adyen.css">
<link rel="stylesheet" href="/demo/demo.css">
<script type="importmap">${IMPORT_MAP}</script>
<script type="module" src="/demo/checkout.js"></script>
</head>
<body>
<main>
<header><h1>Demo shop</h1><span class="badge">Simulator</span></header>
<section id="returned" hidden>
<h2>Back from KakaoPay</h2>
<p>This tab did not start the payment. Submit this <code>redirectResult</code> with <code>submitPaymentDetails</code>
(README, "One payment by hand"):</p>
<pre id="redirect-result"></pre>
</section>
<section id="checkout" hidden>
<form id="pay-form">
<label for="amount">Amount in won (KRW)</label>
<input id="amount" type="text" inputmode="numeric" pattern="[0-9]+" value="12300" required>
<fieldset>
<legend>Payment method</legend>
<div id="methods-list"></div>
</fieldset>
<button type="submit" id="pay" class="primary" disabled>Pay</button>
</form>
<div id="action-container"></div>
</section>
<section id="result" hidden>
<h2>Your payment</h2>
<dl>
<dt>Status</dt><dd><span id="status" class="status" role="status" aria-live="polite">waiting…</span></dd>
<dt>Amount</dt><dd id="amount-paid"></dd>
<dt>Refunded</dt><dd id="refunded"></dd>
<dt>Reason</dt><dd id="reason"></dd>
<dt>Payment</dt><dd id="payment-id"></dd>
</dl>
<h2>Live events</h2>
<ol id="events"></ol>
<button type="button" id="refund" hidden>Refund</button>
<a class="button" href="/demo">New payment</a>
</section>
<p id="error" class="error" role="alert" hidden></p>
<p class="note">A demo checkout served by the gateway in simulator mode: its server part holds the API key, this page only
the payment's client secret. Adyen's own web client (adyen-web) does the redirect. No money moves.</p>
</main>
</body>
</html>
`;
