import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { NodeSDK } from "@opentelemetry/sdk-node";
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base";

/**
 * The OpenTelemetry SDK: W3C trace context, spans exported over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (the standard
 * OTEL_* variables apply). No instrumentation patches modules: the gateway makes its own spans (src/observability).
 */
export function startTracing(spanProcessors?: SpanProcessor[]): NodeSDK {
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME ?? "kakaopay-graphql-gateway",
    ...(spanProcessors ? { spanProcessors } : { traceExporter: new OTLPTraceExporter() }),
    instrumentations: [],
  });
  sdk.start();
  return sdk;
}
