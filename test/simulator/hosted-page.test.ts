import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatAmount, returnUrlWithRedirectResult } from "../../src/simulator/hosted-page.js";
import {
  MERCHANT_ACCOUNT,
  chooseOutcome,
  redirectPaymentRequest,
  redirectResultOf,
  startTestSimulator,
  type TestSimulator,
} from "./support.js";

let sim: TestSimulator;

beforeAll(async () => {
  sim = await startTestSimulator();
});

afterAll(async () => {
  await sim.close();
});

async function startPayment(overrides: Record<string, unknown> = {}): Promise<{ pspReference: string; actionUrl: string }> {
  const answer = await sim.api("POST", "/v72/payments", { body: redirectPaymentRequest(overrides) });
  expect(answer.status).toBe(200);
  return { pspReference: answer.body.pspReference, actionUrl: answer.body.action.url };
}

describe("the five outcomes, walked end to end", () => {
  it.each([
    ["authorised", { resultCode: "Authorised" }],
    ["refused", { resultCode: "Refused", refusalReason: "Refused", refusalReasonCode: "2" }],
    ["cancelled", { resultCode: "Cancelled", refusalReason: "Cancelled", refusalReasonCode: "15" }],
    ["error", { resultCode: "Error", refusalReason: "Acquirer Error", refusalReasonCode: "4" }],
    ["pending", { resultCode: "Pending" }],
  ])("%s", async (outcome, expected) => {
    const returnUrl = "https://shop.example/checkout/return";
    const { pspReference, actionUrl } = await startPayment({ reference: `order-${outcome}`, returnUrl });

    const page = await fetch(actionUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain("₩12,300");
    expect(html).toContain(MERCHANT_ACCOUNT);
    expect(html).toContain(`order-${outcome}`);
    for (const choice of ["authorised", "refused", "cancelled", "error", "pending"]) {
      expect(html).toContain(`name="outcome" value="${choice}"`);
    }
    expect(html).toMatch(/<form method="post">/);

    const chosen = await chooseOutcome(actionUrl, outcome);
    expect(chosen.status).toBe(303);
    const location = chosen.headers.get("location") ?? "";
    expect(location.startsWith(`${returnUrl}?redirectResult=`)).toBe(true);

    const details = await sim.api("POST", "/v72/payments/details", { body: { details: { redirectResult: redirectResultOf(location) } } });
    expect(details.status).toBe(200);
    expect(details.body).toEqual({
      pspReference,
      merchantReference: `order-${outcome}`,
      amount: { value: 12300, currency: "KRW" },
      ...expected,
    });

    // Adyen answers repeated details for the same redirectResult with the same outcome.
    const again = await sim.api("POST", "/v72/payments/details", { body: { details: { redirectResult: redirectResultOf(location) } } });
    expect(again.body).toEqual(details.body);
  });
});

describe("the returnUrl", () => {
  it("keeps an app scheme and its query", async () => {
    const { actionUrl } = await startPayment({ returnUrl: "myapp://checkout/done?x=1" });
    const location = (await chooseOutcome(actionUrl, "authorised")).headers.get("location") ?? "";
    expect(location).toMatch(/^myapp:\/\/checkout\/done\?x=1&redirectResult=[A-Za-z0-9_-]+$/);
  });

  it("keeps an existing query and the fragment", async () => {
    const { actionUrl } = await startPayment({ returnUrl: "https://shop.example/ret?order=1#frag" });
    const location = (await chooseOutcome(actionUrl, "refused")).headers.get("location") ?? "";
    expect(location).toMatch(/^https:\/\/shop\.example\/ret\?order=1&redirectResult=[A-Za-z0-9_-]+#frag$/);
  });

  it("leaves the encoding of an existing query as it was", () => {
    expect(returnUrlWithRedirectResult("https://shop.example/r?q=a%20b&flag", "R")).toBe(
      "https://shop.example/r?q=a%20b&flag&redirectResult=R",
    );
    expect(returnUrlWithRedirectResult("myapp:done", "R")).toBe("myapp:done?redirectResult=R");
  });

  it("replaces a redirectResult the returnUrl already carries instead of adding a second one", () => {
    expect(returnUrlWithRedirectResult("https://shop.example/r?redirectResult=old&x=1#f", "R")).toBe(
      "https://shop.example/r?x=1&redirectResult=R#f",
    );
    expect(returnUrlWithRedirectResult("myapp://done?redirectResult=a&redirectResult=b", "R")).toBe("myapp://done?redirectResult=R");
  });
});

describe("the page, as a shopper meets it", () => {
  it("has a heading, and labels the merchant and the amount", async () => {
    const { actionUrl } = await startPayment();
    const html = await (await fetch(actionUrl)).text();
    expect(html).toMatch(/<html lang="en">/);
    expect(html).toMatch(/<h1[^>]*>[^<]+<\/h1>/);
    expect(html).toContain(`<dt>Merchant</dt><dd class="merchant">${MERCHANT_ACCOUNT}</dd>`);
    expect(html).toContain(`<dt>Amount</dt><dd class="amount">₩12,300</dd>`);
  });

  it("writes every text colour with a contrast of at least 4.5:1 against the sheet (WCAG AA)", async () => {
    const { actionUrl } = await startPayment();
    const html = await (await fetch(actionUrl)).text();
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? "";
    const rule = (selector: string) => new RegExp(`(?:^|\\})${selector.replace(".", "\\.")}\\{([^}]*)\\}`, "m").exec(style)?.[1] ?? "";
    const colour = (selector: string, property: string) => new RegExp(`(?:^|;)${property}:(#[0-9a-f]{6})`).exec(rule(selector))?.[1];
    const sheet = colour(".sheet", "background");
    expect(sheet).toBeDefined();
    for (const selector of [".note", ".badge", "dt", ".merchant"]) {
      const text = colour(selector, "color");
      const background = colour(selector, "background") ?? sheet!;
      expect(text, selector).toBeDefined();
      expect(contrast(text!, background), selector).toBeGreaterThanOrEqual(4.5);
    }
  });

  it("after a choice, offers the way back to the returnUrl with the same redirectResult instead of a dead end", async () => {
    const returnUrl = "https://shop.example/checkout/return?order=7";
    const { actionUrl } = await startPayment({ returnUrl });
    const location = (await chooseOutcome(actionUrl, "cancelled")).headers.get("location") ?? "";
    const again = await fetch(actionUrl);
    expect(again.status).toBe(200);
    const html = await again.text();
    expect(html).toContain("Already decided");
    expect(html).toContain(`<a class="back" href="${location.replaceAll("&", "&#38;")}">`);
  });
});

/** WCAG 2 contrast ratio of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const luminance = (hex: string) => {
    const [r, g, bl] = [1, 3, 5].map((i) => {
      const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light! + 0.05) / (dark! + 0.05);
}

describe("the page's guards", () => {
  it("answers 409 to a second choice", async () => {
    const { actionUrl } = await startPayment();
    expect((await chooseOutcome(actionUrl, "cancelled")).status).toBe(303);
    const second = await chooseOutcome(actionUrl, "authorised");
    expect(second.status).toBe(409);
    expect(second.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await second.text()).toContain("Already decided");
    expect((await fetch(actionUrl)).status).toBe(200);
  });

  it("answers 404 to an unknown session", async () => {
    const answer = await fetch(`${sim.simulator.url}/hpp/kakaopay/no-such-session`);
    expect(answer.status).toBe(404);
    expect(await answer.text()).toContain("Payment not found");
  });

  it("refuses an unknown choice and a non-form body", async () => {
    const { actionUrl } = await startPayment();
    expect((await chooseOutcome(actionUrl, "approve-twice")).status).toBe(400);
    const json = await fetch(actionUrl, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(json.status).toBe(415);
    expect((await chooseOutcome(actionUrl, "authorised")).status).toBe(303);
  });

  it("escapes what it shows", async () => {
    const { actionUrl } = await startPayment({ reference: `<script>alert("x")</script>` });
    const html = await (await fetch(actionUrl)).text();
    expect(html).not.toContain("<script>");
    expect(html).toContain("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;");
  });
});

describe("an expired session", () => {
  it("says so and takes no outcome", async () => {
    const { pspReference, actionUrl } = await startPayment();
    sim.simulator.control.expireSession(pspReference);
    const page = await fetch(actionUrl);
    expect(page.status).toBe(410);
    expect(await page.text()).toContain("Session expired");
    expect((await chooseOutcome(actionUrl, "authorised")).status).toBe(410);
    expect(sim.simulator.control.payments().find((payment) => payment.pspReference === pspReference)?.status).toBe("Expired");
  });
});

describe("formatAmount", () => {
  it("shows minor units in the currency's own decimals", () => {
    expect(formatAmount({ value: 12300, currency: "KRW" })).toBe("₩12,300");
    expect(formatAmount({ value: 1, currency: "KRW" })).toBe("₩1");
  });
});
