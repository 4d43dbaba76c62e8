import { afterEach, describe, expect, it } from "vitest";
import type { StoredPaymentMethodId } from "../../src/payments/ids.js";
import { BACKENDS, closeAll, OWNER, redirected } from "./backends.js";

afterEach(closeAll);

describe.each(BACKENDS)("StoredPaymentMethodStore on $name", (backend) => {
  it("records a token once when two instances race it, and lists and disables it", async () => {
    const { stores, again } = await backend.open();
    const other = await again();
    const payment = await redirected(stores.payments);
    const token = {
      id: "TOKEN00000000001" as StoredPaymentMethodId,
      owner: OWNER,
      shopperReference: "shopper-1",
      type: "kakaopay",
      originalPaymentId: payment.id,
    };
    const results = await Promise.all([stores.storedPaymentMethods.recordToken(token), other.storedPaymentMethods.recordToken(token)]);
    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    expect(await stores.storedPaymentMethods.listTokens(OWNER, "shopper-1")).toMatchObject([{ id: token.id, active: true }]);
    expect(await other.storedPaymentMethods.disableToken(token.id)).toMatchObject({ active: false });
    expect(await stores.storedPaymentMethods.getToken(token.id)).toMatchObject({ active: false });
  });
});
