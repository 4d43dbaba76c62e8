import {
  type DocumentNode,
  type ExecutionResult,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  NoSchemaIntrospectionCustomRule,
  type OperationDefinitionNode,
  parse,
  specifiedRules,
  type ValidationRule,
  validate,
} from "graphql";
import { type CompiledQuery, compileQuery, isCompiledQuery } from "graphql-jit";
import { labelsOf } from "../observability/graphql-metrics.js";
import type { GraphQLOperationType } from "../observability/metrics.js";
import { ErrorCode } from "../payments/errors.js";
import { ByteCappedCache, documentBytes } from "./document-cache.js";
import { AdyenFieldsOnceRule, callsAdyen, limitRules, PARSE_OPTIONS } from "./limits.js";

/**
 * A document's text parsed with the token limit and validated with `rules`: its errors when it fails either. Both
 * transports go through it (graphql-ws with its own rules), so an operation meets the same limits on each.
 */
export function parseAndValidate(
  schema: GraphQLSchema,
  text: string,
  rules: readonly ValidationRule[],
): DocumentNode | readonly GraphQLError[] {
  let document: DocumentNode;
  try {
    document = parse(text, PARSE_OPTIONS);
  } catch (error) {
    return [error instanceof GraphQLError ? error : new GraphQLError("could not parse the operation")];
  }
  const errors = validate(schema, document, rules);
  return errors.length > 0 ? errors : document;
}

/** The validation rules of every operation over HTTP (Apollo adds its own equivalent of the introspection rule). */
function httpRules(production: boolean): ValidationRule[] {
  return [...specifiedRules, ...limitRules(), AdyenFieldsOnceRule, ...(production ? [NoSchemaIntrospectionCustomRule] : [])];
}

/** A query or mutation ready to run: parsed, validated, resolved to its operation and compiled, once per document. */
export interface PreparedOperation {
  labels: { type: GraphQLOperationType; field: string };
  /** Whether it names an Adyen-calling root field, which counts against its caller's budget (rate-limit.ts). */
  callsAdyen: boolean;
  query: CompiledQuery | ExecutionResult;
}

/** A prepared operation and the bytes of its document, which size its cache entry. */
type Prepared = PreparedOperation & { bytes: number };

/** What HTTP does not run itself: it does not parse or validate, names no operation, or is a subscription. */
const REFUSED = "refused";

/** Bytes of prepared operations kept at most; the documents apps send are few and fixed. */
const PREPARED_CACHE_BYTES = 32 * 1024 * 1024;
/** A compiled operation keeps its document and generated functions: a few times the document's own bytes. */
const COMPILED_PER_DOCUMENT_BYTE = 4;

/**
 * Parses, validates and compiles each distinct HTTP operation once, for the HTTP fast path (src/http/graphql-route.ts)
 * and for Apollo's executor (src/graphql/jit-executor.ts), which share its cache of compiled operations.
 */
export class GraphQLPipeline {
  private readonly prepared = new ByteCappedCache<Prepared | typeof REFUSED>(PREPARED_CACHE_BYTES, (entry) =>
    entry === REFUSED ? 0 : COMPILED_PER_DOCUMENT_BYTE * entry.bytes,
  );
  private readonly rules: ValidationRule[];

  constructor(
    private readonly schema: GraphQLSchema,
    { production }: { production: boolean },
  ) {
    this.rules = httpRules(production);
  }

  /** The operation `operationName` of `text`, or null when HTTP leaves it to Apollo (whose answer is then an error). */
  prepare(text: string, operationName: string | undefined): PreparedOperation | null {
    const key = operationKey(text, operationName);
    const cached = this.prepared.get(key);
    if (cached) return cached === REFUSED ? null : cached;
    const document = parseAndValidate(this.schema, text, this.rules);
    const operation = Array.isArray(document) ? null : getOperationAST(document as DocumentNode, operationName);
    if (!operation || operation.operation === "subscription") {
      this.prepared.set(key, REFUSED);
      return null;
    }
    return this.compile(key, document as DocumentNode, operation, operationName);
  }

  /** The compiled operation of a document Apollo has parsed and validated from `text`. */
  compiled(text: string, document: DocumentNode, operationName: string | undefined): CompiledQuery | ExecutionResult {
    const key = operationKey(text, operationName);
    const cached = this.prepared.get(key);
    if (cached && cached !== REFUSED) return cached.query;
    const operation = getOperationAST(document, operationName);
    if (!operation) return compileQuery(this.schema, document, operationName);
    return this.compile(key, document, operation, operationName).query;
  }

  private compile(key: string, document: DocumentNode, operation: OperationDefinitionNode, operationName: string | undefined): Prepared {
    const prepared: Prepared = {
      labels: labelsOf(this.schema, operation),
      callsAdyen: callsAdyen(document, operation),
      query: compileQuery(this.schema, document, operationName),
      bytes: documentBytes(document),
    };
    this.prepared.set(key, prepared);
    return prepared;
  }
}

/**
 * An operation's cache key: its text, after its name and the name's length (so that no two pairs of name and text
 * share a key, whatever they contain). Not a hash: SHA-256 of the text was 5% of a query's CPU, and the cache counts
 * the key's bytes as well.
 */
function operationKey(text: string, operationName: string | undefined): string {
  return operationName === undefined ? `-${text}` : `${operationName.length}:${operationName}${text}`;
}

/**
 * Runs a compiled operation. graphql-jit's errors are look-alikes without `extensions`, which Apollo's formatting
 * reads: they are rebuilt as graphql-js's. One without a path is about the request itself (variables that do not
 * coerce), as Apollo would report it.
 */
export async function executeCompiled(
  query: CompiledQuery | ExecutionResult,
  context: unknown,
  variables: Record<string, unknown>,
): Promise<ExecutionResult> {
  if (!isCompiledQuery(query)) return query;
  const result = await query.query(undefined, context, variables);
  if (!result.errors) return result;
  const errors = result.errors.map((error) =>
    error.path
      ? new GraphQLError(error.message, { path: error.path, originalError: error.originalError ?? error })
      : new GraphQLError(error.message, { extensions: { code: ErrorCode.BAD_USER_INPUT } }),
  );
  return { ...result, errors };
}
