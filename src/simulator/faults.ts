import { MAX_TIMER_MS } from "./options.js";

export type FaultMode = "none" | "timeout" | "5xx" | "reset" | "slow";
const FAULT_MODES: readonly FaultMode[] = ["none", "timeout", "5xx", "reset", "slow"];

/** How the next Checkout API requests fail. */
export interface FaultSettings {
  /**
   * timeout: processed, then never answered; 5xx: answered 500 without processing; reset: socket destroyed without
   * processing; slow: processed, answered after slowMs, and until then a request with the same Idempotency-Key is
   * answered 422/704 (still in progress, as Adyen answers); none: back to normal.
   */
  mode: FaultMode;
  /** How many matching requests fail; absent = every one until reset. */
  count?: number;
  /** Required for mode "slow". */
  slowMs?: number;
  /** Only these API paths (e.g. "/payments" or "/v72/payments", or a template like "/storedPaymentMethods/{storedPaymentMethodId}"). */
  paths?: string[];
}

export type Fault = { mode: "timeout" } | { mode: "5xx" } | { mode: "reset" } | { mode: "slow"; slowMs: number };

interface ActiveFault {
  fault: Fault;
  remaining: number | undefined;
  paths: ReadonlySet<string> | undefined;
}

const withoutVersion = (path: string): string => (path.startsWith("/v72/") ? path.slice("/v72".length) : path);

/** Checks settings coming from a test (possibly as JSON over HTTP); throws an Error saying what is wrong. */
export function parseFaultSettings(input: unknown): FaultSettings {
  if (typeof input !== "object" || input === null) throw new Error("faults must be an object");
  const { mode, count, slowMs, paths, ...unknown } = input as Record<string, unknown>;
  const unknownKeys = Object.keys(unknown);
  if (unknownKeys.length > 0) throw new Error(`unknown fault settings: ${unknownKeys.join(", ")}`);
  if (!FAULT_MODES.includes(mode as FaultMode)) throw new Error(`mode must be one of ${FAULT_MODES.join(", ")}`);
  if (count !== undefined && !(Number.isSafeInteger(count) && (count as number) >= 1)) throw new Error("count must be a positive integer");
  if (mode === "slow" && slowMs === undefined) throw new Error('mode "slow" needs slowMs');
  if (slowMs !== undefined && !(Number.isSafeInteger(slowMs) && (slowMs as number) >= 0 && (slowMs as number) <= MAX_TIMER_MS)) {
    throw new Error(`slowMs must be an integer from 0 to ${MAX_TIMER_MS}`);
  }
  if (paths !== undefined && !(Array.isArray(paths) && paths.every((path) => typeof path === "string" && path.startsWith("/")))) {
    throw new Error('paths must be an array of paths starting with "/"');
  }
  return {
    mode: mode as FaultMode,
    ...(count === undefined ? {} : { count: count as number }),
    ...(slowMs === undefined ? {} : { slowMs: slowMs as number }),
    ...(paths === undefined ? {} : { paths: paths as string[] }),
  };
}

/** Decides, request by request, whether the Checkout API misbehaves. */
export class FaultInjector {
  private active: ActiveFault | undefined;

  set(input: FaultSettings): void {
    const settings = parseFaultSettings(input);
    if (settings.mode === "none") {
      this.active = undefined;
      return;
    }
    const fault: Fault = settings.mode === "slow" ? { mode: "slow", slowMs: settings.slowMs ?? 0 } : { mode: settings.mode };
    this.active = {
      fault,
      remaining: settings.count,
      paths: settings.paths === undefined ? undefined : new Set(settings.paths.map(withoutVersion)),
    };
  }

  reset(): void {
    this.active = undefined;
  }

  /** The fault for a request to any of these API paths (raw and template), using up one of its count. */
  take(apiPaths: readonly string[]): Fault | undefined {
    const active = this.active;
    if (active === undefined) return undefined;
    if (active.paths !== undefined && !apiPaths.some((path) => active.paths?.has(withoutVersion(path)))) return undefined;
    if (active.remaining !== undefined) {
      active.remaining -= 1;
      if (active.remaining === 0) this.active = undefined;
    }
    return active.fault;
  }
}
