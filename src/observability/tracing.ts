import type { IncomingHttpHeaders } from "node:http";

export type SpanAttributes = Record<string, string | number | boolean>;

/**
 * Spans, when OTEL_EXPORTER_OTLP_ENDPOINT is set (src/observability/otel-tracing.ts); otherwise NO_TRACING, and no
 * OpenTelemetry module is loaded at all. Every span is a child of the span current where it starts.
 */
export interface Tracing {
  /** `run` inside a span; an error it throws marks the span failed and is rethrown. */
  span<T>(name: string, attributes: SpanAttributes, run: () => Promise<T>): Promise<T>;
  /** A server span for an incoming request, continuing the caller's W3C `traceparent` when it sent one. */
  request<T>(headers: IncomingHttpHeaders, name: string, run: () => Promise<T>): Promise<T>;
  /** Renames the current span once its real name is known (a GraphQL operation, once parsed). */
  rename(name: string, attributes: SpanAttributes): void;
  /** `target` with every method call a span `prefix.method` (store transactions, webhook applies). */
  wrap<T extends object>(target: T, prefix: string): T;
}

export const NO_TRACING: Tracing = {
  span: (_name, _attributes, run) => run(),
  request: (_headers, _name, run) => run(),
  rename: () => {},
  wrap: (target) => target,
};
