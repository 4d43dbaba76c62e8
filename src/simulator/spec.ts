import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule.default;

/** The Checkout operations the simulator serves. */
export type CheckoutOperationId =
  | "paymentMethods"
  | "payments"
  | "paymentDetails"
  | "listStoredPaymentMethods"
  | "deleteStoredPaymentMethod"
  | "refundCapturedPayment";

const SERVED_OPERATIONS: ReadonlyArray<{ id: CheckoutOperationId; method: "GET" | "POST" | "DELETE"; path: string }> = [
  { id: "paymentMethods", method: "POST", path: "/paymentMethods" },
  { id: "payments", method: "POST", path: "/payments" },
  { id: "paymentDetails", method: "POST", path: "/payments/details" },
  { id: "listStoredPaymentMethods", method: "GET", path: "/storedPaymentMethods" },
  { id: "deleteStoredPaymentMethod", method: "DELETE", path: "/storedPaymentMethods/{storedPaymentMethodId}" },
  { id: "refundCapturedPayment", method: "POST", path: "/payments/{paymentPspReference}/refunds" },
];

/** Why a request does not match the spec, in the terms Adyen's error messages use. */
export type SchemaViolation =
  | { kind: "unknownField"; schemaName: string; field: string }
  | { kind: "missingField"; field: string }
  | { kind: "invalidField"; field: string; problem: string };

export interface CheckoutOperation {
  readonly id: CheckoutOperationId;
  readonly method: "GET" | "POST" | "DELETE";
  /** The spec's path template, without the /v72 server prefix. */
  readonly pathTemplate: string;
  /** Query and path parameters together (the served operations have no name in common). */
  validateParameters(parameters: Record<string, string>): SchemaViolation | undefined;
  /** Undefined for operations without a request body. */
  validateBody: ((body: unknown) => SchemaViolation | undefined) | undefined;
  /** A description of what is wrong with a response the simulator is about to send, or undefined when it is valid. */
  validateResponse(status: number, body: unknown): string | undefined;
}

export interface OperationMatch {
  readonly operation: CheckoutOperation;
  readonly pathParameters: Record<string, string>;
}

export interface CheckoutSpec {
  /** The served operation for a method and a path below /v72, if any. */
  match(method: string, apiPath: string): OperationMatch | undefined;
  /** True when the spec defines this operation although the simulator does not serve it (e.g. POST /sessions). */
  definesOperation(method: string, apiPath: string): boolean;
  /** For answers to paths that match no served operation: checks the body is a ServiceError. */
  validateServiceError(body: unknown): string | undefined;
}

export interface WebhookSpec {
  /** A description of what is wrong with a notification request body, or undefined when it is valid. */
  validateNotification(eventCode: string, body: unknown): string | undefined;
}

type Json = Record<string, unknown>;

// The $ids under which each spec's components are registered with its Ajv.
const CHECKOUT_DOCUMENT = "checkout";
const WEBHOOKS_DOCUMENT = "webhooks";

/**
 * The specs live in src/simulator/spec under the project root. Walking up from this module to the nearest
 * package.json finds them both from src/simulator (tsx, vitest) and from dist/src/simulator (tsc does not copy JSON).
 */
export function specDirectory(): string {
  let directory = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(directory, "package.json"))) return path.join(directory, "src", "simulator", "spec");
    const parent = path.dirname(directory);
    if (parent === directory) throw new Error("simulator: no package.json above the simulator module, cannot find the Adyen specs");
    directory = parent;
  }
}

function readSpec(fileName: string): Json {
  return JSON.parse(readFileSync(path.join(specDirectory(), fileName), "utf8")) as Json;
}

/**
 * One Ajv per spec document, holding the whole components section under an $id so that the spec's own
 * "#/components/schemas/..." references resolve unchanged.
 */
function ajvForComponents(documentId: string, components: unknown): Ajv2020 {
  // Strict, except for types: the specs write `properties` without `type: object` in places, which is valid JSON Schema.
  const ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: false });
  addFormats(ajv);
  // OpenAPI annotations and Adyen's x- extensions: they document, they do not validate.
  for (const keyword of ["example", "discriminator", "x-addedInVersion", "x-deprecatedInVersion", "x-deprecatedMessage", "x-anyOf"]) {
    ajv.addKeyword(keyword);
  }
  // Declared so that compiling the wrapper document does not trip strict mode; its schemas are reached by $ref only.
  ajv.addKeyword("components");
  ajv.addSchema({ $id: documentId, components });
  return ajv;
}

function componentRef(documentId: string, ref: string): { $ref: string } {
  if (!ref.startsWith("#/components/")) throw new Error(`simulator: unexpected $ref ${ref}`);
  return { $ref: documentId + ref };
}

function schemaName(ref: string): string {
  return ref.slice(ref.lastIndexOf("/") + 1);
}

function describePath(instancePath: string): string {
  return instancePath.split("/").filter(Boolean).join(".");
}

function joinField(parent: string, child: string): string {
  return parent === "" ? child : `${parent}.${child}`;
}

/** Turns Ajv's first error into the one violation Adyen would report. */
function toSchemaViolation(rootSchemaName: string, errors: readonly ErrorObject[]): SchemaViolation {
  // A failed oneOf (paymentMethod) lists every branch's error before its own: report the oneOf itself.
  const oneOf = errors.find((error) => error.keyword === "oneOf" || error.keyword === "anyOf");
  const error = oneOf ?? errors[0];
  if (error === undefined) return { kind: "invalidField", field: "", problem: "is invalid" };
  const field = describePath(error.instancePath);
  if (error.keyword === "additionalProperties") {
    const params = error.params as { additionalProperty: string };
    return { kind: "unknownField", schemaName: rootSchemaName, field: joinField(field, params.additionalProperty) };
  }
  if (error.keyword === "required") {
    const params = error.params as { missingProperty: string };
    return { kind: "missingField", field: joinField(field, params.missingProperty) };
  }
  return { kind: "invalidField", field, problem: error.message ?? "is invalid" };
}

function violationOf(rootSchemaName: string, validate: ValidateFunction, value: unknown): SchemaViolation | undefined {
  return validate(value) ? undefined : toSchemaViolation(rootSchemaName, validate.errors ?? []);
}

interface OpenApiParameter {
  name: string;
  in: "query" | "path" | "header";
  required?: boolean;
  schema: unknown;
}

function resolveParameter(spec: Json, parameter: Json): OpenApiParameter {
  const ref = parameter["$ref"];
  if (typeof ref !== "string") return parameter as unknown as OpenApiParameter;
  const components = spec["components"] as { parameters: Record<string, OpenApiParameter | undefined> };
  const resolved = components.parameters[schemaName(ref)];
  if (resolved === undefined) throw new Error(`simulator: unresolved parameter ${ref}`);
  return resolved;
}

function jsonSchemaRef(content: unknown): string | undefined {
  const schema = (content as { "application/json"?: { schema?: { $ref?: string } } } | undefined)?.["application/json"]?.schema;
  return schema?.$ref;
}

function compileOperation(spec: Json, ajv: Ajv2020, served: (typeof SERVED_OPERATIONS)[number]): CheckoutOperation {
  const paths = spec["paths"] as Record<string, Record<string, Json> | undefined>;
  const operation = paths[served.path]?.[served.method.toLowerCase()];
  if (operation === undefined) throw new Error(`simulator: ${served.method} ${served.path} is not in the Checkout spec`);

  const parameters = ((operation["parameters"] ?? []) as Json[])
    .map((parameter) => resolveParameter(spec, parameter))
    .filter((parameter) => parameter.in !== "header"); // Idempotency-Key is handled by the server itself
  const validateParametersSchema = ajv.compile({
    type: "object",
    properties: Object.fromEntries(parameters.map((parameter) => [parameter.name, parameter.schema])),
    required: parameters.filter((parameter) => parameter.required === true).map((parameter) => parameter.name),
  });

  const bodyRef = jsonSchemaRef((operation["requestBody"] as Json | undefined)?.["content"]);
  const validateBodySchema = bodyRef === undefined ? undefined : ajv.compile(componentRef(CHECKOUT_DOCUMENT, bodyRef));

  const responseValidators = new Map<number, ValidateFunction | "empty">();
  for (const [status, response] of Object.entries(operation["responses"] as Record<string, Json>)) {
    const ref = jsonSchemaRef(response["content"]);
    responseValidators.set(Number(status), ref === undefined ? "empty" : ajv.compile(componentRef(CHECKOUT_DOCUMENT, ref)));
  }
  // Errors the spec does not list for an operation (e.g. 401 on GET /storedPaymentMethods) still carry a ServiceError.
  const serviceError = ajv.compile(componentRef(CHECKOUT_DOCUMENT, "#/components/schemas/ServiceError"));

  return {
    id: served.id,
    method: served.method,
    pathTemplate: served.path,
    validateParameters: (values) => violationOf("query", validateParametersSchema, values),
    validateBody:
      validateBodySchema === undefined || bodyRef === undefined
        ? undefined
        : (body) => violationOf(schemaName(bodyRef), validateBodySchema, body),
    validateResponse(status, body) {
      const validator = responseValidators.get(status) ?? (status >= 400 ? serviceError : undefined);
      if (validator === undefined) return `status ${status} is not a response of ${served.method} ${served.path}`;
      if (validator === "empty") return body === undefined ? undefined : `status ${status} must have no body`;
      if (validator(body)) return undefined;
      return ajvErrorsText(validator.errors);
    },
  };
}

function ajvErrorsText(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((error) => `${error.instancePath || "/"} ${error.message ?? "is invalid"} (${error.schemaPath})`).join("; ");
}

function templateToPattern(template: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{([^}]+)\}/g, (_match, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  return { pattern: new RegExp(`^${source}$`), names };
}

function loadCheckoutSpec(): CheckoutSpec {
  const spec = readSpec("CheckoutService-v72.json");
  const ajv = ajvForComponents(CHECKOUT_DOCUMENT, spec["components"]);
  const operations = SERVED_OPERATIONS.map((served) => ({
    operation: compileOperation(spec, ajv, served),
    ...templateToPattern(served.path),
  }));
  const allOperations = Object.entries(spec["paths"] as Record<string, Json>).map(([template, methods]) => ({
    pattern: templateToPattern(template).pattern,
    methods: new Set(Object.keys(methods).map((method) => method.toUpperCase())),
  }));
  const serviceError = ajv.compile(componentRef(CHECKOUT_DOCUMENT, "#/components/schemas/ServiceError"));

  return {
    match(method, apiPath) {
      for (const { operation, pattern, names } of operations) {
        if (operation.method !== method) continue;
        const found = pattern.exec(apiPath);
        if (found === null) continue;
        const pathParameters: Record<string, string> = {};
        names.forEach((name, index) => {
          pathParameters[name] = decodeURIComponent(found[index + 1] ?? "");
        });
        return { operation, pathParameters };
      }
      return undefined;
    },
    definesOperation: (method, apiPath) =>
      allOperations.some((operation) => operation.methods.has(method) && operation.pattern.test(apiPath)),
    validateServiceError: (body) => (serviceError(body) ? undefined : ajvErrorsText(serviceError.errors)),
  };
}

/**
 * Webhooks-v1.json rejects its own examples: two additionalData schemas forbid extra keys yet omit keys that Adyen
 * sends (every standard webhook is signed with hmacSignature; its OFFER_CLOSED and RECURRING_CONTRACT examples carry
 * the others). Exactly the keys of those examples are added; the tests check that the examples then validate.
 */
const MISSING_ADDITIONAL_DATA_KEYS: Readonly<Record<string, readonly string[]>> = {
  NotificationAdditionalData: ["hmacSignature", "paymentMethodVariant"],
  RecurringContractNotificationAdditionalData: ["hmacSignature", "recurring.shopperReference"],
};

function loadWebhookSpec(): WebhookSpec {
  const spec = readSpec("Webhooks-v1.json");
  const components = spec["components"] as { schemas: Record<string, { properties: Record<string, unknown> } | undefined> };
  for (const [name, keys] of Object.entries(MISSING_ADDITIONAL_DATA_KEYS)) {
    const schema = components.schemas[name];
    if (schema === undefined) throw new Error(`simulator: ${name} is not in the Webhooks spec`);
    for (const key of keys) schema.properties[key] ??= { type: "string" };
  }
  const ajv = ajvForComponents(WEBHOOKS_DOCUMENT, components);
  const webhooks = spec["webhooks"] as Record<string, { post?: Json } | undefined>;
  const validators = new Map<string, ValidateFunction>();

  const validatorFor = (eventCode: string): ValidateFunction => {
    const known = validators.get(eventCode);
    if (known !== undefined) return known;
    // Event codes without their own webhook entry (e.g. AUTHENTICATION) use the generic request.
    const ref =
      jsonSchemaRef((webhooks[`/${eventCode}`]?.post?.["requestBody"] as Json | undefined)?.["content"]) ??
      "#/components/schemas/NotificationRequest";
    const compiled = ajv.compile(componentRef(WEBHOOKS_DOCUMENT, ref));
    validators.set(eventCode, compiled);
    return compiled;
  };

  return {
    validateNotification(eventCode, body) {
      const validate = validatorFor(eventCode);
      return validate(body) ? undefined : ajvErrorsText(validate.errors);
    },
  };
}

let checkoutSpec: CheckoutSpec | undefined;
let webhookSpec: WebhookSpec | undefined;

/** Loaded and compiled once per process (about a second: PaymentRequest's oneOf is large), then shared. */
export function checkoutApiSpec(): CheckoutSpec {
  checkoutSpec ??= loadCheckoutSpec();
  return checkoutSpec;
}

export function webhooksSpec(): WebhookSpec {
  webhookSpec ??= loadWebhookSpec();
  return webhookSpec;
}
