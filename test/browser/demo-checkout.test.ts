import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StartKakaoPayPaymentDocument } from "../generated/graphql.js";
import { eventually, TestGateway, tableRows } from "../support/gateway.js";

// Debian's chromium package: Playwright cannot download its own browser here.
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const ARTIFACTS = process.env.BROWSER_ARTIFACTS ?? join(tmpdir(), "kakaopay-browser-artifacts");
/** Set to a directory (docs/screenshots) to save the demo's final states there, as the README shows them. */
const SCREENSHOTS = process.env.DEMO_SCREENSHOTS;

const available = existsSync(CHROMIUM);
if (!available && process.env.CI) throw new Error(`${CHROMIUM} is missing: CI must run the browser tests (apt-get install -y chromium)`);
if (!available) console.log(`browser tests skipped: no ${CHROMIUM}; to run them: apt-get install -y chromium && npm test`);

describe.skipIf(!available)("the demo checkout in headless Chromium", () => {
  let gw: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    gw = await TestGateway.start({
      SIMULATOR_WEBHOOK_DELAY_MS: "1000",
      // Long enough for the shopper to be back and see PENDING before the webhook authorises it.
      SIMULATOR_PENDING_DELAY_MS: "8000",
      RETURN_URL_ALLOWLIST: "http://127.0.0.1",
    });
    // launch() gives every run a fresh temporary profile (user data dir).
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  /** A page whose requests may reach this machine only: adyen-web's analytics and CDN calls fail, as offline. */
  async function offlinePage(options: { viewport?: { width: number; height: number }; mobile?: boolean } = {}) {
    const context: BrowserContext = await browser.newContext({
      viewport: options.viewport ?? { width: 480, height: 900 },
      isMobile: options.mobile ?? false,
      hasTouch: options.mobile ?? false,
    });
    const blocked: string[] = [];
    const served: string[] = [];
    await context.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === "127.0.0.1") {
        served.push(url.pathname);
        return route.continue();
      }
      blocked.push(url.href);
      return route.abort("internetdisconnected");
    });
    const page = await context.newPage();
    return { context, page, blocked, served };
  }

  /** Runs `body`; on failure saves a full-page screenshot and says where. */
  async function withScreenshot(name: string, page: Page, body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (error) {
      mkdirSync(ARTIFACTS, { recursive: true });
      const file = join(ARTIFACTS, `${name}-${Date.now()}.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      console.log(`browser test "${name}" failed: screenshot ${file}`);
      throw error;
    }
  }

  const journeys = [
    { outcome: "authorised", button: "Pay ₩12,300", final: "AUTHORISED" },
    { outcome: "refused", button: "Refuse", final: "REFUSED" },
    { outcome: "cancelled", button: "Cancel", final: "CANCELLED" },
    { outcome: "pending", button: "Leave pending", final: "AUTHORISED", through: "PENDING" },
  ] as const;

  for (const journey of journeys) {
    /** Whether the gateway has applied an AUTHORISATION webhook for this payment. */
    async function webhookApplied(paymentId: string): Promise<boolean> {
      const payment = (await tableRows(gw, "payments")).find((row) => row.id === paymentId);
      return (await tableRows(gw, "notification_inbox")).some(
        (row) => row.event_code === "AUTHORISATION" && row.psp_reference === payment?.psp_reference && row.applied_at !== null,
      );
    }

    it(`takes a shopper through the ${journey.outcome} journey: demo page, adyen-web's redirect, KakaoPay, return, live status`, async () => {
      const { context, page, served } = await offlinePage();
      await withScreenshot(journey.outcome, page, async () => {
        await page.goto(`${gw.url}/demo`);
        await page.getByLabel("Amount in won (KRW)").fill("12300");
        const method = page.getByRole("radio", { name: "KakaoPay" });
        await method.waitFor();
        expect(await method.isChecked()).toBe(true);
        // The logo is the demo's own file (loaded offline), not Adyen's CDN.
        const logo = page.locator(".method img");
        await expect.poll(() => logo.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
        expect(await logo.getAttribute("src")).toBe("/demo/kakaopay.svg");

        if (SCREENSHOTS && journey.outcome === "authorised")
          await page.locator("main").screenshot({ path: join(SCREENSHOTS, "demo-checkout.png") });
        await page.getByRole("button", { name: "Pay", exact: true }).click();
        // adyen-web's Redirect Component navigates to action.url: the test never opens it itself.
        await page.waitForURL(`${gw.simulator.url}/hpp/kakaopay/**`);
        expect(served).toContain("/demo/vendor/adyen-web/components/Redirect/components/RedirectShopper/RedirectShopper.js");

        await page.getByRole("button", { name: journey.button }).click();
        await page.waitForURL(`${gw.url}/demo?return`);
        const paymentId = (await page.locator("#payment-id").textContent())!;
        if ("through" in journey) await page.locator("#events li", { hasText: `${journey.through} (REDIRECT)` }).waitFor();
        // The webhook and the shopper's details may arrive in either order: once the webhook is in, the page shows
        // the final status, whichever came first.
        await eventually(async () => expect(await webhookApplied(paymentId)).toBe(true), 30_000);
        await expect.poll(() => page.locator("#status").textContent()).toBe(journey.final);
        const events = await page.locator("#events li").allTextContents();
        expect(events[0]).toBe("v1 ACTION_REQUIRED (API)");
        expect(events.at(-1)).toMatch(new RegExp(`^v\\d+ ${journey.final} \\((REDIRECT|WEBHOOK)\\)$`));

        if (journey.outcome === "authorised") {
          const refund = page.getByRole("button", { name: "Refund ₩12,300" });
          await refund.click();
          await page.locator("#events li", { hasText: "refund ₩12,300 PENDING (API)" }).waitFor();
          await page.locator("#events li", { hasText: "refund ₩12,300 SUCCEEDED (WEBHOOK)" }).waitFor({ timeout: 15_000 });
          await expect.poll(() => refund.isHidden()).toBe(true);
        }
        expect(await page.locator("#error").isHidden()).toBe(true);
        if (SCREENSHOTS) await page.locator("main").screenshot({ path: join(SCREENSHOTS, `demo-${journey.outcome}.png`) });
      });
      await context.close();
    }, 90_000);
  }

  it("shows the hosted KakaoPay page whole at a 390×844 mobile viewport, in English, with labelled buttons", async () => {
    const { context, page } = await offlinePage({ viewport: { width: 390, height: 844 }, mobile: true });
    await withScreenshot("hosted-page-mobile", page, async () => {
      const started = await gw.data(StartKakaoPayPaymentDocument, {
        input: { amount: { value: 12300, currency: "KRW" }, reference: "mobile-1", returnUrl: `${gw.url}/demo` },
      });
      const action = started.startKakaoPayPayment.action as { url: string };
      await page.goto(action.url);
      expect(await page.evaluate("document.documentElement.lang")).toBe("en");
      expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
      const buttons = page.getByRole("button");
      const names = [];
      for (const button of await buttons.all()) {
        names.push((await button.textContent())?.trim());
        await button.scrollIntoViewIfNeeded();
        const box = (await button.boundingBox())!;
        expect(box.x).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width).toBeLessThanOrEqual(390);
        expect(box.y).toBeGreaterThanOrEqual(0);
        expect(box.y + box.height).toBeLessThanOrEqual(844);
      }
      expect(names).toEqual(["Pay ₩12,300", "Refuse", "Cancel", "Fail with an error", "Leave pending"]);
      expect(await page.getByRole("heading", { name: "Confirm your payment" }).isVisible()).toBe(true);
      if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, "hosted-page-mobile.png"), fullPage: true });
      await page.getByRole("button", { name: "Leave pending" }).click();
      await page.waitForURL(`${gw.url}/demo?**`);
      // A payment this tab did not start (here: begun by the API): the demo shows the redirectResult to submit by hand.
      const redirectResult = new URL(page.url()).searchParams.get("redirectResult");
      await expect.poll(() => page.locator("#redirect-result").textContent()).toBe(redirectResult);
    });
    await context.close();
  });
});
