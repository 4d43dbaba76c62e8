import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALPHA_KEY, TestGateway, tableRows } from "../support/gateway.js";

/** A GET with the path sent exactly as given (fetch would normalise ../ away). */
function rawGet(base: string, path: string): Promise<{ status: number; type: string | undefined }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, method: "GET" }, (response) => {
      response.resume();
      response.on("end", () => resolve({ status: response.statusCode!, type: response.headers["content-type"] }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the demo checkout's routes", () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await TestGateway.start({ RETURN_URL_ALLOWLIST: "http://127.0.0.1" });
  });

  afterAll(async () => {
    await gw?.close();
  });

  it("serves the page with a self-only policy, and adyen-web and graphql-ws from their npm packages", async () => {
    const page = await fetch(`${gw.url}/demo`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const policy = page.headers.get("content-security-policy")!;
    expect(policy).toContain("default-src 'self'");
    expect(policy).not.toMatch(/https?:/);
    const html = await page.text();
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('"@adyen/adyen-web":"/demo/vendor/adyen-web/index.js"');

    for (const [path, type] of [
      ["/demo/checkout.js", "text/javascript; charset=utf-8"],
      ["/demo/vendor/adyen-web/index.js", "text/javascript; charset=utf-8"],
      ["/demo/vendor/adyen-web/core/AdyenCheckout.js", "text/javascript; charset=utf-8"],
      ["/demo/vendor/adyen-web/adyen.css", "text/css; charset=utf-8"],
      ["/demo/vendor/graphql-ws/client.js", "text/javascript; charset=utf-8"],
      ["/demo/kakaopay.svg", "image/svg+xml"],
    ]) {
      const response = await fetch(`${gw.url}${path}`);
      expect([path, response.status, response.headers.get("content-type")]).toEqual([path, 200, type]);
    }
  });

  it("serves nothing outside its list of files", async () => {
    for (const path of [
      "/demo/vendor/adyen-web/../../../package.json",
      "/demo/vendor/adyen-web/..%2f..%2f..%2fpackage.json",
      "/demo/vendor/adyen-web/index.js.map",
      "/demo/vendor/graphql-ws/server-zBhvXJ_Z.js",
      "/demo/../package.json",
      "/demo/public/checkout.js",
    ]) {
      expect([path, (await rawGet(gw.url, path)).status]).toEqual([path, 404]);
    }
  });

  it("keeps the API key on the server: the browser gets the payment's id, action and client secret only", async () => {
    const script = await (await fetch(`${gw.url}/demo/checkout.js`)).text();
    const html = await (await fetch(`${gw.url}/demo`)).text();
    const response = await fetch(`${gw.url}/demo/api/payments`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: gw.url },
      body: JSON.stringify({ amount: { value: 12300, currency: "KRW" } }),
    });
    expect(response.status).toBe(200);
    const body = await response.text();
    for (const text of [script, html, body]) expect(text).not.toContain(ALPHA_KEY);
    const payment = JSON.parse(body) as { id: string; status: string; clientSecret: string; action: { type: string; url: string } };
    expect(payment.status).toBe("ACTION_REQUIRED");
    expect(payment.clientSecret).toMatch(/^pcs_/);
    expect(payment.action).toMatchObject({ type: "redirect", url: expect.stringContaining(gw.simulator.url) });
    // The payment is the first API key's (alpha), with the page as its returnUrl.
    const row = (await tableRows(gw, "payments")).find((r) => r.id === payment.id)!;
    expect(row.owner).toBe("alpha");
    expect(row.return_url).toBe(`${gw.url}/demo`);
  });

  it("refuses a payment started by a form post (not JSON) and creates nothing", async () => {
    const before = (await tableRows(gw, "payments")).length;
    const response = await fetch(`${gw.url}/demo/api/payments`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ amount: { value: 12300, currency: "KRW" } }),
    });
    expect(response.status).toBe(415);
    expect((await tableRows(gw, "payments")).length).toBe(before);
  });

  it("passes the gateway's own input errors on, clearly", async () => {
    const response = await fetch(`${gw.url}/demo/api/payments`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: gw.url },
      body: JSON.stringify({ amount: { value: -5, currency: "KRW" } }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/amount/i);
  });
});

describe("the demo checkout outside simulator mode", () => {
  it("does not exist in test (or live) mode", async () => {
    const gw = await TestGateway.start({ ADYEN_ENVIRONMENT: "test", ADYEN_API_KEY: "AQE-test-key", ADYEN_MERCHANT_ACCOUNT: "ShopECOM" });
    try {
      for (const path of ["/demo", "/demo/checkout.js", "/demo/vendor/adyen-web/index.js", "/demo/api/payment-methods?amount=100"]) {
        expect([path, (await fetch(`${gw.url}${path}`)).status]).toEqual([path, 404]);
      }
    } finally {
      await gw.close();
    }
  });
});
