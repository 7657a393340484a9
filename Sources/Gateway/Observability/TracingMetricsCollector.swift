import Telemetry
import Tracing

/// Exposes the span exporter's counters as metrics, read on the scraping thread:
/// `gateway_tracing_spans_exported_total` and `gateway_tracing_spans_dropped_total{reason}` with every
/// reason shown from the start (ring_full, queue_full, export_failed), so a rate() works before the first
/// drop.
enum TracingMetricsCollector {
    static func install(exporter: SpanExporter, registry: MetricRegistry) throws {
        let exported = try registry.counter(
            "gateway_tracing_spans_exported_total",
            help: "Spans the OTLP receiver accepted."
        ).handle()
        let dropped = try registry.counter(
            "gateway_tracing_spans_dropped_total",
            help:
                "Spans not exported: a worker's ring was full (ring_full), the exporter's queue was full (queue_full), or the receiver refused them or failed after retries (export_failed).",
            labelNames: ["reason"]
        )
        let reasons = try SpanDropReason.allCases.map { reason in (reason, try dropped.handle([reason.rawValue])) }
        registry.addCollector {
            exported.setSharedTotal(Double(exporter.exportedSpans))
            for (reason, handle) in reasons { handle.setSharedTotal(Double(exporter.droppedSpans(reason))) }
        }
    }
}
