import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALPHA_KEY, TestGateway } from "../support/gateway.js";

let gw: TestGateway;
beforeAll(async () => {
  gw = await TestGateway.start();
});
afterAll(() => gw.close());

type Answer = { status: number; code?: string; message?: string; data?: unknown };

async function post(body: unknown): Promise<Answer> {
  const response = await fetch(`${gw.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ALPHA_KEY}` },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  return { status: response.status, code: json.errors?.[0]?.extensions?.code, message: json.errors?.[0]?.message, data: json.data };
}

const internalLines = () => gw.lines.filter((line) => /internal/i.test(line));

describe("a client's mistake gets the code GraphQL clients expect, never INTERNAL_SERVER_ERROR", () => {
  it.each([
    ["an unknown operationName", { query: "query A { __typename }", operationName: "B" }, 400, "OPERATION_RESOLUTION_FAILURE"],
    [
      "two operations without operationName",
      { query: "query A { __typename } query B { __typename }" },
      400,
      "OPERATION_RESOLUTION_FAILURE",
    ],
    ["a subscription over HTTP", { query: 'subscription { paymentStatusChanged(paymentId: "pay_x") { version } }' }, 400, "BAD_REQUEST"],
    ["1,001 tokens", { query: `{ ${"__typename ".repeat(1001)} }` }, 400, "BAD_USER_INPUT"],
    [
      "a persistedQuery version other than 1",
      { extensions: { persistedQuery: { version: 2, sha256Hash: "0".repeat(64) } } },
      400,
      "BAD_REQUEST",
    ],
    [
      "a query whose hash does not match",
      { query: "{ __typename }", extensions: { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } } },
      400,
      "BAD_REQUEST",
    ],
  ])("%s", async (_name, body, status, code) => {
    const before = internalLines().length;
    const answer = await post(body);
    expect(answer.code).toBe(code);
    expect(answer.status).toBe(status);
    expect(answer.message?.length).toBeGreaterThan(0);
    expect(internalLines().length).toBe(before);
  });

  it("answers an unknown APQ hash with PERSISTED_QUERY_NOT_FOUND, then runs the query once it is sent with the hash", async () => {
    const query = "query Apq { __typename }";
    const sha256Hash = createHash("sha256").update(query).digest("hex");
    const persistedQuery = { version: 1, sha256Hash };

    const unknown = await post({ extensions: { persistedQuery } });
    expect(unknown.code).toBe("PERSISTED_QUERY_NOT_FOUND");
    // Apollo's APQ protocol answers this with 200: the client resends with the query.
    expect(unknown.status).toBe(200);

    const registered = await post({ query, extensions: { persistedQuery } });
    expect(registered).toMatchObject({ status: 200, data: { __typename: "Query" } });
    expect(registered.code).toBeUndefined();

    const byHash = await post({ extensions: { persistedQuery } });
    expect(byHash).toMatchObject({ status: 200, data: { __typename: "Query" } });
  });
});
