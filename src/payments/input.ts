import { badInput } from "./errors.js";
import type { Amount } from "./payment.js";

/** Input rules shared by the use cases; each failure names the input field it is about. */

const MAX_MINOR_UNITS = 2_147_483_647;
/**
 * Characters that render as nothing or reorder what is shown, by Unicode property rather than a list: controls (Cc),
 * formats (Cf: bidi marks and isolates, zero-width, soft hyphen, tag characters), private use (Co), lone surrogates
 * (Cs, which would reach storage and Adyen as U+FFFD), line and paragraph separators, and the default-ignorable
 * code points (Hangul fillers, variation selectors, U+180E).
 */
const CONTROL_OR_INVISIBLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;

export function checkAmount(amount: Amount, field = "amount"): Amount {
  if (!Number.isSafeInteger(amount.value) || amount.value <= 0 || amount.value > MAX_MINOR_UNITS) {
    throw badInput(`${field}.value`, "amount.value must be a positive integer in minor units");
  }
  return amount;
}

/** KakaoPay charges in Korean won only. */
export function checkKakaoPayCurrency(amount: Amount, field = "amount"): void {
  if (amount.currency !== "KRW") throw badInput(`${field}.currency`, "KakaoPay accepts KRW only");
}

export function checkCurrencyCode(amount: Amount, field = "amount"): void {
  if (!/^[A-Z]{3}$/.test(amount.currency)) throw badInput(`${field}.currency`, "currency must be an ISO 4217 code");
}

/** Printable text of bounded length: nothing CONTROL_OR_INVISIBLE. */
export function checkText(value: string, field: string, min: number, max: number): string {
  const length = [...value].length;
  if (length < min || length > max) {
    throw badInput(field, `${field} must be ${min}–${max} characters`);
  }
  if (CONTROL_OR_INVISIBLE.test(value) || value.trim() !== value) {
    throw badInput(field, `${field} must not contain control or invisible characters or surrounding spaces`);
  }
  return value;
}

export function checkReference(reference: string, field = "reference"): string {
  return checkText(reference, field, 1, 80);
}

/**
 * Adyen takes 3–256 characters and is sent "<API key name>:<shopperReference>" (names up to 64 characters), so an
 * app's own reference may have 3–191.
 */
export function checkShopperReference(shopperReference: string, field = "shopperReference"): string {
  return checkText(shopperReference, field, 3, 191);
}

export function checkCountryCode(countryCode: string, field = "countryCode"): string {
  if (!/^[A-Z]{2}$/.test(countryCode)) throw badInput(field, "countryCode must be an ISO 3166-1 alpha-2 code");
  return countryCode;
}

export function checkShopperLocale(locale: string, field = "shopperLocale"): string {
  if (!/^[a-zA-Z]{2,3}([-_][a-zA-Z0-9]{2,8}){0,3}$/.test(locale)) {
    throw badInput(field, "shopperLocale must be a language tag such as ko-KR");
  }
  return locale;
}

export function checkIdempotencyKey(key: string, field = "idempotencyKey"): string {
  if (!/^[\x21-\x7e]{1,128}$/.test(key)) {
    throw badInput(field, "idempotencyKey must be 1–128 printable ASCII characters");
  }
  return key;
}

export const MAX_RETURN_URL_LENGTH = 1024;

/**
 * Where the shopper may be sent back to: an entry is an origin (`https://shop.example`, matching scheme and
 * host, and the port when the entry names one) or an app scheme (`myapp://`). Anything else, including
 * `javascript:` and `data:`, is refused, so the gateway can never be used as an open redirect.
 */
export class ReturnUrlPolicy {
  private readonly origins: URL[] = [];
  private readonly appSchemes = new Set<string>();

  constructor(allowlist: readonly string[]) {
    for (const entry of allowlist) {
      const scheme = /^([a-z][a-z0-9+.-]*):\/\/$/i.exec(entry);
      if (scheme?.[1]) this.appSchemes.add(`${scheme[1].toLowerCase()}:`);
      else this.origins.push(new URL(entry));
    }
  }

  check(returnUrl: string, field = "returnUrl"): string {
    if (returnUrl.length > MAX_RETURN_URL_LENGTH) {
      throw badInput(field, `returnUrl must be at most ${MAX_RETURN_URL_LENGTH} characters`);
    }
    if (/[\s\u0000-\u001f\u007f\\]/.test(returnUrl) || CONTROL_OR_INVISIBLE.test(returnUrl)) {
      throw badInput(field, "returnUrl must not contain spaces, backslashes or control characters");
    }
    let url: URL;
    try {
      url = new URL(returnUrl);
    } catch {
      throw badInput(field, "returnUrl must be an absolute URL");
    }
    if (url.username || url.password) throw badInput(field, "returnUrl must not carry credentials");
    if (!this.allows(url)) throw badInput(field, "returnUrl is not in RETURN_URL_ALLOWLIST");
    return returnUrl;
  }

  private allows(url: URL): boolean {
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      return this.appSchemes.has(url.protocol) && returnUrlHasAppTarget(url);
    }
    return this.origins.some((o) => o.protocol === url.protocol && o.hostname === url.hostname && (o.port === "" || o.port === url.port));
  }
}

/** `myapp://` alone (or `myapp:` without `//`) is no place to return to. */
function returnUrlHasAppTarget(url: URL): boolean {
  return url.href.startsWith(`${url.protocol}//`) && url.href.length > url.protocol.length + 2;
}

const DETAIL_KEYS = new Set(["redirectResult", "payload", "resultCode", "returnUrlQueryString", "MD", "PaRes", "threeDSResult"]);
const MAX_DETAIL_LENGTH = 8192;

/**
 * `actionComponentData.details`: a small flat object of strings with keys Adyen defines for a redirect
 * (PaymentCompletionDetails). Anything else is refused before Adyen sees it.
 */
export function checkDetails(details: unknown, field = "details"): Record<string, string> {
  if (typeof details !== "object" || details === null || Array.isArray(details)) {
    throw badInput(field, 'details must be a JSON object such as {"redirectResult": "..."}');
  }
  const entries = Object.entries(details);
  if (entries.length === 0) throw badInput(field, "details must not be empty");
  if (Object.getPrototypeOf(details) !== Object.prototype && Object.getPrototypeOf(details) !== null) {
    throw badInput(field, "details must be a plain JSON object");
  }
  const clean: Record<string, string> = Object.create(null);
  for (const [key, value] of entries) {
    // Checked first: an invisible character in a key must not be echoed into the error.
    if (CONTROL_OR_INVISIBLE.test(key)) throw badInput(field, "details keys must not contain control or invisible characters");
    if (!DETAIL_KEYS.has(key))
      throw badInput(`${field}.${key.slice(0, 40)}`, `details.${key.slice(0, 40)} is not an Adyen redirect detail`);
    if (typeof value !== "string" || value.length === 0 || value.length > MAX_DETAIL_LENGTH) {
      throw badInput(`${field}.${key}`, `details.${key} must be a non-empty string of at most ${MAX_DETAIL_LENGTH} characters`);
    }
    if (CONTROL_OR_INVISIBLE.test(value)) {
      throw badInput(`${field}.${key}`, `details.${key} must not contain control or invisible characters`);
    }
    clean[key] = value;
  }
  return { ...clean };
}
