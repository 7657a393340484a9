/// Distributed tracing (key `tracing:`): W3C Trace Context on every request, and spans exported over
/// OTLP/HTTP when `otlp.endpoint` is set.
///
/// Without a `tracing:` section the gateway passes `traceparent`/`tracestate` through untouched and
/// starts no traces. With one, it takes part in the trace: it answers for its own hop (a server span per
/// request, a client span per upstream attempt), sends its own `traceparent` upstream, and puts the trace
/// id in the access log, the latency exemplars and its error bodies.
package struct TracingSettings: Sendable, Equatable {
    /// Where and how spans are exported (`tracing.otlp`).
    package struct OTLP: Sendable, Equatable {
        /// The OTLP/HTTP traces URL (`endpoint`), e.g. `http://127.0.0.1:4318/v1/traces`.
        package var endpoint: String
        /// Spans per export request (`batch_size`).
        package var batchSize: Int = 512
        /// The longest a finished span waits before it is sent (`flush_interval`).
        package var flushInterval: Duration = .seconds(1)
        /// Spans held while the receiver is slow or down (`max_queue_size`); more are dropped and counted.
        package var maxQueueSize: Int = 2048
        /// Time allowed for one export request (`timeout`).
        package var timeout: Duration = .seconds(10)

        package init(endpoint: String) {
            self.endpoint = endpoint
        }
    }

    /// A `tracing:` section was written: the gateway takes part in traces.
    package var enabled: Bool = false
    /// Share of requests without an incoming trace that start a sampled one (`sampling_ratio`, 0...1).
    ///
    /// 0 (the default) only propagates: a request that arrives with a `traceparent` keeps its trace and
    /// its sampled flag; one without gets none. Above 0 every request without a trace starts one, sampled
    /// with this probability, so unsampled requests still carry a trace id to the upstream and the log.
    package var samplingRatio: Double = 0
    /// `service.name` of the exported spans (`service_name`).
    package var serviceName: String = "gateway"
    /// Extra resource attributes of the exported spans (`resource_attributes`), in key order.
    package var resourceAttributes: [String: String] = [:]
    /// The exporter; nil exports nothing (trace context is still propagated and logged).
    package var otlp: OTLP?

    package init() {}
}
