import { createHash } from "node:crypto";

/**
 * JSON with every object's keys sorted, at every depth: the same input gives the same text whatever order the client
 * wrote its keys in, so hashes of it (idempotency keys, Adyen's Idempotency-Key for details) do not depend on it.
 * Arrays keep their order; undefined properties are left out, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  // As JSON.stringify does: a Date (or anything with toJSON) is written as what toJSON returns.
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return canonicalJson((value as { toJSON(): unknown }).toJSON());
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? "null" : canonicalJson(item))).join(",")}]`;
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .sort()
    .filter((key) => record[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
  return `{${members.join(",")}}`;
}

/** SHA-256 (hex) of the canonical JSON: how an idempotency key's input is compared. */
export function canonicalHash(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}
