import Tracing

extension SpanExporterConfiguration {
    /// The exporter configuration `tracing:` asks for, or nil when it asks for none (no `tracing.otlp`).
    /// Used at start and by each reload, so both read the keys the same way.
    package init?(_ settings: TracingSettings) throws(SpanExporterError) {
        guard settings.enabled, let otlp = settings.otlp else { return nil }
        try self.init(endpoint: otlp.endpoint)
        batchSize = otlp.batchSize
        flushInterval = otlp.flushInterval
        maxQueueSize = otlp.maxQueueSize
        timeout = otlp.timeout
        serviceName = settings.serviceName
        serviceVersion = GatewayVersion.string
        resourceAttributes = settings.resourceAttributes
    }
}
