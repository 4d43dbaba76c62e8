import { GraphQLError } from "graphql";
import { describe, expect, it } from "vitest";
import { clientErrorFormatter } from "../../src/graphql/errors.js";
import { badInput } from "../../src/payments/errors.js";

describe("clientErrorFormatter", () => {
  it("turns an unexpected error into INTERNAL_SERVER_ERROR with nothing of its insides, and logs it once", () => {
    const lines: string[] = [];
    const thrown = new GraphQLError("boom", { path: ["payment"], originalError: new TypeError("db handle is closed") });
    const formatted = clientErrorFormatter({ production: false, log: (line) => void lines.push(line) })(thrown.toJSON(), thrown);
    expect(formatted).toMatchObject({ message: "Internal error", extensions: { code: "INTERNAL_SERVER_ERROR" } });
    expect(JSON.stringify(formatted)).not.toContain("db handle");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("TypeError: db handle is closed");
  });

  it("logs nothing for a client's mistake", () => {
    const lines: string[] = [];
    const format = clientErrorFormatter({ production: false, log: (line) => void lines.push(line) });
    const input = new GraphQLError("bad", { originalError: badInput("input.reference", "reference must be 1–80 characters") });
    expect(format(input.toJSON(), input).extensions).toEqual({ code: "BAD_USER_INPUT", field: "input.reference" });
    const notFound = new GraphQLError("PersistedQueryNotFound", { extensions: { code: "PERSISTED_QUERY_NOT_FOUND" } });
    expect(format(notFound.toJSON(), notFound).extensions).toEqual({ code: "PERSISTED_QUERY_NOT_FOUND" });
    expect(lines).toEqual([]);
  });
});
