import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/payments/canonical-json.js";

describe("canonicalJson", () => {
  it("sorts object keys at every depth, so the client's key order does not matter", () => {
    expect(canonicalJson({ redirectResult: "r", payload: "p" })).toBe('{"payload":"p","redirectResult":"r"}');
    expect(canonicalJson({ payload: "p", redirectResult: "r" })).toBe('{"payload":"p","redirectResult":"r"}');
    expect(canonicalJson({ b: { d: 1, c: [{ f: true, e: null }] }, a: "x" })).toBe('{"a":"x","b":{"c":[{"e":null,"f":true}],"d":1}}');
  });

  it("keeps the order of arrays, which is meaningful", () => {
    expect(canonicalJson([3, 1, 2])).toBe("[3,1,2]");
  });

  it("writes strings and numbers as JSON does, and leaves out undefined properties", () => {
    expect(canonicalJson({ s: 'a"b\\c\u2028', n: -1.5, u: undefined })).toBe('{"n":-1.5,"s":"a\\"b\\\\c\u2028"}');
    expect(canonicalJson("text")).toBe('"text"');
    expect(canonicalJson(null)).toBe("null");
    expect(canonicalJson({ at: new Date("2026-11-30T12:00:00.000Z") })).toBe('{"at":"2026-11-30T12:00:00.000Z"}');
  });

  it("treats a key named __proto__ as data, and objects without a prototype like any other", () => {
    const parsed = JSON.parse('{"z":1,"__proto__":{"x":2}}');
    expect(canonicalJson(parsed)).toBe('{"__proto__":{"x":2},"z":1}');
    const bare = Object.assign(Object.create(null), { b: 2, a: 1 });
    expect(canonicalJson(bare)).toBe('{"a":1,"b":2}');
  });
});
