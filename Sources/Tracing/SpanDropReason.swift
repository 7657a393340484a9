/// Why a span was not exported: the `reason` label of `gateway_tracing_spans_dropped_total`.
public enum SpanDropReason: String, Sendable, CaseIterable {
    /// A worker's ``SpanRing`` was full when it pushed the span (the exporter fell behind).
    case ringFull = "ring_full"
    /// The exporter's queue held `max_queue_size` spans already (the receiver is slow or down).
    case queueFull = "queue_full"
    /// The receiver refused the batch for good (a 4xx other than 429, or spans it reported rejected), or it
    /// still failed after every retry, or shutdown ran out of time before the span could be sent.
    case exportFailed = "export_failed"
}
