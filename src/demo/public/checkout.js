// The demo shop's browser code: what a merchant's web page does with the gateway. It never holds an API key: its
// server part (/demo/api/…) starts payments and refunds; the page itself uses only the payment's client secret.
import { createClient } from "graphql-ws";

// adyen-web requires a client key; the simulator does not check it, so the demo uses a fixed placeholder.
// With real Adyen, use your own test_… or live_… client key from the Customer Area.
const CLIENT_KEY = "test_SIMULATORPLACEHOLDERCLIENTKEY0";
// Kept across adyen-web's redirect: the shopper comes back to this page in the same tab.
const STORAGE_KEY = "kakaopay-demo-payment";

const $ = (id) => document.getElementById(id);
const won = (amount) => new Intl.NumberFormat("ko-KR", { style: "currency", currency: amount.currency }).format(amount.value);

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

/** A GraphQL operation sent by the page itself, with the client secret (content-type JSON, as Apollo requires). */
async function graphql(clientSecret, query, variables) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${clientSecret}` },
    body: JSON.stringify({ query, variables }),
  });
  const result = await response.json();
  if (result.errors?.length) throw new Error(result.errors.map((error) => error.message).join("; "));
  return result.data;
}

/** A call to the shop's own server part, which holds the API key. */
async function merchantServer(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const result = await response.json();
  if (!response.ok) throw new Error(result.error ?? `${path} answered ${response.status}`);
  return result;
}

async function showCheckout() {
  $("checkout").hidden = false;
  // adyen-web is needed only to pay (not on the return page): loaded while the shopper chooses.
  const adyenWeb = import("@adyen/adyen-web");
  const amountInput = $("amount");
  const loadMethods = async () => {
    const value = Number(amountInput.value);
    if (!Number.isInteger(value) || value <= 0) return;
    const { paymentMethods } = await merchantServer(`/demo/api/payment-methods?amount=${value}`);
    const list = $("methods-list");
    list.replaceChildren(
      ...paymentMethods.map((method, index) => {
        const label = document.createElement("label");
        label.className = "method";
        const radio = document.createElement("input");
        radio.type = "radio";
        radio.name = "method";
        radio.value = method.type;
        radio.checked = index === 0;
        const logo = document.createElement("img");
        // Adyen's logoUrl points at its CDN; the demo serves KakaoPay's logo itself, so it shows offline.
        logo.src = `/demo/${method.type}.svg`;
        logo.alt = "";
        label.append(radio, logo, method.name);
        return label;
      }),
    );
    $("pay").disabled = paymentMethods.length === 0;
    if (paymentMethods.length === 0) list.textContent = "No payment method is offered for this amount.";
  };
  amountInput.addEventListener("change", () => loadMethods().catch((error) => showError(error.message)));
  await loadMethods();

  $("pay-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("pay").disabled = true;
    $("error").hidden = true;
    try {
      const payment = await merchantServer("/demo/api/payments", { amount: { value: Number(amountInput.value), currency: "KRW" } });
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ paymentId: payment.id, clientSecret: payment.clientSecret }));
      const { AdyenCheckout } = await adyenWeb;
      const checkout = await AdyenCheckout({
        countryCode: "KR",
        locale: "en-US",
        environment: "test",
        clientKey: CLIENT_KEY,
        // A redirect action completes on the return page below, not through this callback.
        onAdditionalDetails: () => {},
        onError: (error) => showError(error.message),
      });
      // Adyen's Redirect Component sends the shopper to action.url (GET: location.assign; POST: a hidden form).
      checkout.createFromAction(payment.action).mount("#action-container");
    } catch (error) {
      showError(error.message);
      $("pay").disabled = false;
    }
  });
}

const EVENTS_SUBSCRIPTION = `subscription Follow($paymentId: ID!) {
  paymentStatusChanged(paymentId: $paymentId, afterVersion: 0) {
    version status previousStatus source refundStatus
    refund { id status amount { value currency } }
    payment { amount { value currency } refundableAmount { value currency } refundedAmount { value currency } refusalReason }
  }
}`;

async function showResult(saved, redirectResult) {
  $("result").hidden = false;
  $("payment-id").textContent = saved.paymentId;
  // The redirectResult is single-use: drop it from the address bar so a reload does not resubmit it.
  history.replaceState(null, "", "/demo?return");

  const client = createClient({
    url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`,
    connectionParams: { authorization: `Bearer ${saved.clientSecret}` },
  });
  let shownVersion = 0;
  client.subscribe(
    { query: EVENTS_SUBSCRIPTION, variables: { paymentId: saved.paymentId } },
    {
      next: ({ data, errors }) => {
        if (errors?.length) return showError(errors.map((error) => error.message).join("; "));
        const latest = data.paymentStatusChanged;
        // graphql-ws re-subscribes after a reconnect, and afterVersion: 0 replays: show each version once.
        if (latest.version <= shownVersion) return;
        shownVersion = latest.version;
        const item = document.createElement("li");
        item.dataset.status = latest.status;
        item.textContent = latest.refund
          ? `v${latest.version} refund ${won(latest.refund.amount)} ${latest.refund.status} (${latest.source})`
          : `v${latest.version} ${latest.status} (${latest.source})`;
        $("events").append(item);
        const status = $("status");
        status.textContent = latest.status;
        status.dataset.status = latest.status;
        $("amount-paid").textContent = won(latest.payment.amount);
        $("refunded").textContent = won(latest.payment.refundedAmount);
        $("reason").textContent = latest.payment.refusalReason ?? "";
        const refundable = latest.payment.refundableAmount;
        $("refund").hidden = latest.status !== "AUTHORISED" || refundable.value === 0;
        $("refund").textContent = `Refund ${won(refundable)}`;
      },
      // graphql-ws reports GraphQL errors as an array, a lost socket as its close event.
      error: (error) =>
        showError(
          Array.isArray(error) ? error.map((e) => e.message).join("; ") : "The live status connection was closed: reload to follow again",
        ),
      complete: () => {},
    },
  );

  $("refund").addEventListener("click", async () => {
    $("refund").disabled = true;
    try {
      await merchantServer("/demo/api/refunds", { paymentId: saved.paymentId });
    } catch (error) {
      showError(error.message);
    } finally {
      $("refund").disabled = false;
    }
  });

  if (redirectResult) {
    // The page submits what Adyen's redirect brought back, with the client secret: no API key in the browser.
    await graphql(
      saved.clientSecret,
      "mutation Submit($input: SubmitPaymentDetailsInput!) { submitPaymentDetails(input: $input) { status version } }",
      { input: { paymentId: saved.paymentId, details: { redirectResult } } },
    ).catch((error) => showError(error.message));
  }
}

async function main() {
  const params = new URLSearchParams(location.search);
  const redirectResult = params.get("redirectResult");
  const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null");
  if ((redirectResult || params.has("return")) && saved) return showResult(saved, redirectResult);
  if (redirectResult) {
    // A payment started elsewhere (Sandbox, curl) that returned here: show the value to submit by hand.
    $("returned").hidden = false;
    $("redirect-result").textContent = redirectResult;
  }
  return showCheckout();
}

main().catch((error) => showError(error.message));
