import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { ByteCappedCache, documentBytes, documentStore, hashOf } from "../../src/graphql/document-cache.js";

/** A tiny query padded with a large comment: few tokens, many bytes. */
const padded = (i: number, padding = 60_000) => `# ${"x".repeat(padding)}\n{ __typename a${i}: __typename }`;

describe("document caches", () => {
  it("count the comment bytes a cached document keeps alive", () => {
    const small = parse("{ __typename }");
    const large = parse(padded(1));
    // The 60 000-character comment lives on in the document's source: it must be counted, twice over (UTF-16).
    expect(documentBytes(large)).toBeGreaterThan(120_000);
    expect(documentBytes(small)).toBeLessThan(2_000);
  });

  it("hold no more bytes than their cap, whatever documents they are sent", () => {
    const cache = new ByteCappedCache(1_000_000, documentBytes);
    for (let i = 0; i < 200; i++) cache.set(hashOf(padded(i)), parse(padded(i)));
    expect(cache.bytes).toBeLessThanOrEqual(1_000_000);
    // 200 documents of more than 120 KB each: at most 8 fit in a megabyte.
    expect(cache.size).toBeLessThanOrEqual(8);
    expect(cache.size).toBeGreaterThan(0);
  });

  it("keep the most recently used entries and drop the oldest", () => {
    const cache = new ByteCappedCache<string>(30, (value) => value.length);
    cache.set("a", "123456789"); // 10 bytes with its key
    cache.set("b", "123456789");
    cache.get("a");
    cache.set("c", "123456789");
    cache.set("d", "123456789"); // over 30: the least recently used, b, goes
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBe("123456789");
    expect(cache.get("d")).toBe("123456789");
    expect(cache.bytes).toBe(30);
  });

  it("refuse an entry larger than the whole cap instead of emptying the cache for it", () => {
    const cache = new ByteCappedCache<string>(30, (value) => value.length);
    cache.set("a", "123456789");
    cache.set("huge", "x".repeat(100));
    expect(cache.get("huge")).toBeUndefined();
    expect(cache.get("a")).toBe("123456789");
  });

  it("Apollo's document store stays under its cap", async () => {
    const store = documentStore(500_000);
    for (let i = 0; i < 50; i++) await store.set(hashOf(padded(i)), parse(padded(i)));
    let kept = 0;
    for (let i = 0; i < 50; i++) if (await store.get(hashOf(padded(i)))) kept++;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(4);
  });
});
