import { createHmac, timingSafeEqual } from "node:crypto";
import type { ApiKeyName, PaymentId } from "./ids.js";
import type { Payment } from "./payment.js";

/** How long a payment's client secret is valid, from the payment's creation (docs/contract.md, Authentication). */
export const CLIENT_SECRET_TTL_MS = 24 * 60 * 60 * 1000;

/** Who is calling: a merchant server's API key (by its name), or a shopper's app holding one payment's client secret. */
export type Principal = { kind: "server"; owner: ApiKeyName } | { kind: "client"; paymentId: PaymentId; expiresAt: Date };

const PREFIX = "pcs_";
// `pcs_<payment id>.<expiry, unix seconds>.<base64url HMAC-SHA256>`: neither the id nor base64url contains a dot.
const FORMAT = /^pcs_(pay_[A-Za-z0-9_-]{1,64})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

/**
 * Client secrets, derived and never stored: an HMAC under CLIENT_SECRET_KEY of the payment id and its expiry, so the
 * server key can read the same secret again and rotating the key revokes every outstanding one.
 */
export class ClientSecrets {
  private readonly keys: Buffer[];

  /** `hexKeys`: the current key first; the previous one is still accepted while a rotation is under way. */
  constructor(
    hexKeys: readonly string[],
    private readonly now: () => number = Date.now,
  ) {
    if (hexKeys.length === 0) throw new Error("client secrets need a key");
    this.keys = hexKeys.map((hex) => Buffer.from(hex, "hex"));
  }

  static isClientSecret(credential: string): boolean {
    return credential.startsWith(PREFIX);
  }

  /** The payment's secret, the same on every read: it expires 24 hours after the payment was created. */
  secretFor(payment: Pick<Payment, "id" | "createdAt">): string {
    const expiry = Math.floor((payment.createdAt.getTime() + CLIENT_SECRET_TTL_MS) / 1000);
    return `${PREFIX}${payment.id}.${expiry}.${mac(this.keys[0]!, payment.id, expiry)}`;
  }

  /** The client principal a secret stands for, or null when it is malformed, forged, signed with an old key or expired. */
  verify(credential: string): Principal | null {
    const match = FORMAT.exec(credential);
    if (!match) return null;
    const [, paymentId, expiryText, signature] = match as unknown as [string, string, string, string];
    // Compared as text: decoding first would accept the variants of the last character that differ in unused bits.
    const given = Buffer.from(signature, "ascii");
    const expiry = Number(expiryText);
    const valid = this.keys.some((key) => timingSafeEqual(Buffer.from(mac(key, paymentId, expiry), "ascii"), given));
    if (!valid || expiry * 1000 <= this.now()) return null;
    return { kind: "client", paymentId: paymentId as PaymentId, expiresAt: new Date(expiry * 1000) };
  }
}

function mac(key: Buffer, paymentId: string, expiry: number): string {
  return createHmac("sha256", key).update(`${paymentId}.${expiry}`).digest("base64url");
}
