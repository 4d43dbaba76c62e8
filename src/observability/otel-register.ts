/**
 * Loaded with `node --import` before the gateway (npm start does): the OpenTelemetry SDK must be running before the
 * first span. Without OTEL_EXPORTER_OTLP_ENDPOINT it does nothing and loads no OpenTelemetry module.
 */
if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT) {
  const { startTracing } = await import("./otel-sdk.js");
  const sdk = startTracing();
  // Spans still in the batch are sent before the process exits.
  process.once("beforeExit", () => void sdk.shutdown());
}
