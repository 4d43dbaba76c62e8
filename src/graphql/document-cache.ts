import { createHash } from "node:crypto";
import type { DocumentStore } from "@apollo/server";
import type { DocumentNode } from "graphql";

/**
 * A least-recently-used map capped by the bytes its entries hold (as `sizeOf` estimates them), not by their count:
 * a count cap lets a thousand 60 KB documents (a tiny query padded with a comment) hold 60 MB.
 */
export class ByteCappedCache<V> {
  private readonly entries = new Map<string, { value: V; size: number }>();
  private held = 0;

  constructor(
    readonly maxBytes: number,
    private readonly sizeOf: (value: V) => number,
  ) {}

  get bytes(): number {
    return this.held;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V): void {
    this.delete(key);
    const size = key.length + this.sizeOf(value);
    if (size > this.maxBytes) return;
    this.entries.set(key, { value, size });
    this.held += size;
    for (const [oldest, entry] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.held -= entry.size;
    }
  }

  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    this.held -= entry.size;
    return true;
  }
}

/**
 * What a parsed document keeps alive: its source text (UTF-16, comments included, which Apollo's own sizing by
 * JSON leaves out) and its syntax tree, estimated by its JSON.
 */
export function documentBytes(document: DocumentNode): number {
  return 2 * (document.loc?.source.body.length ?? 0) + JSON.stringify(document).length;
}

/** Parsed documents cached at most, in bytes, per cache (Apollo's, graphql-ws's). */
export const DOCUMENT_CACHE_BYTES = 16 * 1024 * 1024;

/** Apollo's parsed-document store (it keys entries by the SHA-256 of the text), capped by the bytes it really holds. */
export function documentStore(maxBytes = DOCUMENT_CACHE_BYTES): DocumentStore {
  const cache = new ByteCappedCache<DocumentNode>(maxBytes, documentBytes);
  return {
    get: async (key) => cache.get(key),
    set: async (key, value) => cache.set(key, value),
    delete: async (key) => cache.delete(key),
  };
}

/** A cache key for a document's text: a fixed 64 characters, so no key keeps a copy of a large document alive. */
export function hashOf(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
