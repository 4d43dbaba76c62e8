import type { SchemaViolation } from "./spec.js";

/** Adyen's error body (the spec's ServiceError), as every non-2xx Checkout answer carries it. */
export interface ServiceError {
  status: number;
  errorCode: string;
  message: string;
  errorType: "validation" | "security" | "configuration" | "internal";
  pspReference?: string;
}

// Codes and messages follow Adyen's published error codes where one fits; "000" is Adyen's catch-all code.

export const unauthorised = (): ServiceError => ({
  status: 401,
  errorCode: "000",
  message: "HTTP Status Response - Unauthorized",
  errorType: "security",
});

export const invalidMerchantAccount = (): ServiceError => ({
  status: 403,
  errorCode: "901",
  message: "Invalid Merchant Account",
  errorType: "security",
});

export const malformedJson = (): ServiceError => ({
  status: 400,
  errorCode: "702",
  message: "Unable to parse the request body as JSON",
  errorType: "validation",
});

export const requestTooLarge = (): ServiceError => ({
  status: 413,
  errorCode: "702",
  message: "Request body too large",
  errorType: "validation",
});

export const notFound = (): ServiceError => ({ status: 404, errorCode: "000", message: "Not Found", errorType: "validation" });

export const notSimulated = (): ServiceError => ({
  status: 501,
  errorCode: "000",
  message: "This Checkout operation is not simulated",
  errorType: "configuration",
});

export const internalError = (): ServiceError => ({
  status: 500,
  errorCode: "000",
  message: "Internal error",
  errorType: "internal",
});

/** A 422 with Adyen's validation error type. */
export const validation = (errorCode: string, message: string): ServiceError => ({
  status: 422,
  errorCode,
  message,
  errorType: "validation",
});

export const contractNotFound = (): ServiceError => validation("800", "Contract not found");

/** Adyen's answer to a request whose Idempotency-Key belongs to a request still in progress (docs/stack.md #20). */
export const requestInProgress = (): ServiceError => validation("704", "request already processed or in progress");

// Adyen gives no code for a key reused with another body; 707 ("Invalid idempotency key") is our stand-in for
// both a reused and a malformed key.
export const idempotencyKeyReused = (): ServiceError =>
  validation("707", "Invalid idempotency key: it was already used for a different request");

export const idempotencyKeyTooLong = (): ServiceError => validation("707", "Invalid idempotency key: at most 64 characters");

/** Adyen answers unknown fields with 400/702 and names the structure; other schema failures are 422s. */
export function schemaViolation(violation: SchemaViolation): ServiceError {
  switch (violation.kind) {
    case "unknownField":
      return {
        status: 400,
        errorCode: "702",
        message: `Structure of ${violation.schemaName} contains the following unknown fields: [${violation.field}]`,
        errorType: "validation",
      };
    case "missingField":
      if (violation.field === "amount") return validation("100", "Required object 'amount' is not provided.");
      if (violation.field === "reference") return validation("130", "Required field 'reference' is not provided.");
      return validation("000", `Required field '${violation.field}' is not provided.`);
    case "invalidField":
      return validation("000", `Field '${violation.field}' ${violation.problem}`);
  }
}
