import type { IncomingHttpHeaders } from "node:http";
import { context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { SpanAttributes, Tracing } from "./tracing.js";

const tracer = trace.getTracer("kakaopay-graphql-gateway");

function finish<T>(span: Span, run: () => Promise<T>): Promise<T> {
  return run().then(
    (value) => {
      span.end();
      return value;
    },
    (error: unknown) => {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      throw error;
    },
  );
}

/** Tracing through @opentelemetry/api; the SDK is started by src/observability/otel-register.ts (node --import). */
export class OtelTracing implements Tracing {
  span<T>(name: string, attributes: SpanAttributes, run: () => Promise<T>): Promise<T> {
    return tracer.startActiveSpan(name, { attributes }, (span) => finish(span, run));
  }

  request<T>(headers: IncomingHttpHeaders, name: string, run: () => Promise<T>): Promise<T> {
    const parent = propagation.extract(ROOT_CONTEXT, headers);
    return tracer.startActiveSpan(name, { kind: SpanKind.SERVER }, parent, (span) => finish(span, run));
  }

  rename(name: string, attributes: SpanAttributes): void {
    const span = trace.getSpan(context.active());
    span?.updateName(name);
    span?.setAttributes(attributes);
  }

  wrap<T extends object>(target: T, prefix: string): T {
    return new Proxy(target, {
      get: (object, key, receiver) => {
        const value: unknown = Reflect.get(object, key, receiver);
        if (typeof value !== "function" || typeof key !== "string") return value;
        return (...args: unknown[]) => this.span(`${prefix}.${key}`, {}, async () => value.apply(object, args));
      },
    });
  }
}
