import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Sends the spans the workers push to an OTLP/HTTP receiver (protobuf), from a thread of its own.
///
/// Set-up (cold path, any thread): create the exporter, give each worker its ring with ``makeRing()``
/// (or ``register(_:)`` one), then ``start()``. Workers push ``SpanRecord`` values into their own ring
/// and never wait: a full ring drops the span. The exporter thread drains the rings every poll interval
/// into a queue of at most `maxQueueSize` spans, and POSTs a batch when `batchSize` spans wait or the
/// oldest has waited `flushInterval`. Connection errors, 429 and 5xx are retried with backoff; spans are
/// counted as exported or dropped (``SpanDropReason``). ``shutdown()`` sends what is queued, within
/// `shutdownTimeout`.
public final class SpanExporter: Sendable {
    /// The configuration in force: the one the exporter was created with, or the last one given to
    /// ``reconfigure(_:)``.
    public var configuration: SpanExporterConfiguration { self.current.withLock { $0.configuration } }
    let control = SpanExportControl()
    /// The encoder of the configuration in force.
    var encoder: OTLPSpanEncoder { self.current.withLock { $0.encoder } }
    /// This process's `service.instance.id`: the same across reconfigurations.
    private let instanceID: String
    private let current: Mutex<SpanExportSettings>
    private let state: Mutex<State>

    private enum State {
        case ready
        case running(pthread_t)
        case stopped
    }

    /// Creates an exporter (no thread, no connection yet); throws ``SpanExporterError`` for a bad
    /// configuration.
    public init(configuration: SpanExporterConfiguration) throws(SpanExporterError) {
        try configuration.validate()
        let instanceID = Self.instanceID()
        self.instanceID = instanceID
        self.current = Mutex(Self.settings(configuration, instanceID: instanceID))
        self.state = Mutex(.ready)
    }

    /// Takes `configuration` while running (a reload): spans already queued are sent by the
    /// configuration they were queued under (within its `shutdownTimeout`, or counted as
    /// `export_failed`), then the exporter thread sends to the new endpoint with the new resource.
    /// The rings stay (their `ringCapacity` is kept), so the workers see nothing of it. Never blocks
    /// on the exporter thread; throws ``SpanExporterError`` for a bad configuration or after shutdown.
    public func reconfigure(_ configuration: SpanExporterConfiguration) throws(SpanExporterError) {
        var configuration = configuration
        try configuration.validate()
        let result: Result<Void, SpanExporterError> = self.state.withLock { state in
            if case .stopped = state {
                return .failure(SpanExporterError(.state, "the span exporter was shut down"))
            }
            let settings = self.current.withLock { current in
                configuration.ringCapacity = current.configuration.ringCapacity
                current = Self.settings(configuration, instanceID: self.instanceID)
                return current
            }
            // A running thread picks it up between batches; a thread not started yet starts with it.
            if case .running = state { self.control.post(settings) }
            return .success(())
        }
        try result.get()
    }

    /// A configuration with its encoder: the resource holds `service.name`, `service.instance.id`,
    /// `host.name`, `service.version` when set, and the configured attributes (which win).
    private static func settings(
        _ configuration: SpanExporterConfiguration,
        instanceID: String
    ) -> SpanExportSettings {
        var attributes = [
            "service.name": configuration.serviceName,
            "service.instance.id": instanceID,
        ]
        if let host = Self.hostName() { attributes["host.name"] = host }
        if !configuration.serviceVersion.isEmpty { attributes["service.version"] = configuration.serviceVersion }
        attributes.merge(configuration.resourceAttributes) { _, configured in configured }
        let encoder = OTLPSpanEncoder(resourceAttributes: attributes, scopeVersion: configuration.serviceVersion)
        return SpanExportSettings(configuration: configuration, encoder: encoder)
    }

    deinit {
        self.shutdown()
    }

    /// Creates and registers a ring of `configuration.ringCapacity` slots for one worker (before or after
    /// start).
    public func makeRing() -> SpanRing {
        let ring = SpanRing(minimumCapacity: self.configuration.ringCapacity)
        self.control.register(ring)
        return ring
    }

    /// Registers a ring the caller made; the exporter thread becomes its only reader.
    public func register(_ ring: SpanRing) {
        self.control.register(ring)
    }

    /// The resource attributes sent with every batch (`service.name`, `service.instance.id`, `host.name`,
    /// `service.version` when set, and the configured ones).
    public var resourceAttributes: [String: String] {
        var attributes: [String: String] = [:]
        let encoder = self.encoder
        for pair in encoder.resource.attributes { attributes[pair.key] = pair.value.stringValue }
        return attributes
    }

    /// Starts the exporter thread; throws if it is already running or was shut down.
    public func start() throws(SpanExporterError) {
        let result: Result<Void, SpanExporterError> = self.state.withLock { state in
            switch state {
            case .ready:
                let settings = self.current.withLock { $0 }
                let pipeline = SpanExportPipeline(
                    configuration: settings.configuration,
                    control: self.control,
                    encoder: settings.encoder
                )
                let box = Unmanaged.passRetained(pipeline).toOpaque()
                var thread = pthread_t()
                let code = pthread_create(
                    &thread,
                    nil,
                    { raw in
                        let pipeline = Unmanaged<SpanExportPipeline>.fromOpaque(raw!).takeRetainedValue()
                        pipeline.run()
                        return nil
                    },
                    box
                )
                if code != 0 {
                    Unmanaged<SpanExportPipeline>.fromOpaque(box).release()
                    let why = String(cString: strerror(code))
                    return .failure(SpanExporterError(.state, "cannot start the span exporter thread: \(why)"))
                }
                state = .running(thread)
                return .success(())
            case .running:
                return .failure(SpanExporterError(.state, "the span exporter is already running"))
            case .stopped:
                return .failure(SpanExporterError(.state, "the span exporter was shut down"))
            }
        }
        try result.get()
    }

    /// Sends the spans pushed before this call (within `shutdownTimeout`; the rest count as
    /// `export_failed`) and stops the thread. Stop the workers first. Safe to call twice.
    public func shutdown() {
        let thread: pthread_t? = self.state.withLock { state in
            defer { state = .stopped }
            if case .running(let thread) = state { return thread }
            return nil
        }
        guard let thread else { return }
        self.control.stopRequested.store(true, ordering: .releasing)
        pthread_join(thread, nil)
    }

    /// Spans the receiver accepted (`gateway_tracing_spans_exported_total`).
    public var exportedSpans: UInt64 { self.control.exported.load(ordering: .relaxed) }

    /// Spans dropped for `reason` (`gateway_tracing_spans_dropped_total{reason}`).
    public func droppedSpans(_ reason: SpanDropReason) -> UInt64 {
        switch reason {
        case .ringFull: return self.control.ringFull
        case .queueFull: return self.control.queueFull.load(ordering: .relaxed)
        case .exportFailed: return self.control.exportFailed.load(ordering: .relaxed)
        }
    }

    /// Spans waiting in the exporter's queue (not counting the rings, nor a batch being sent).
    public var queuedSpans: Int { self.control.queued.load(ordering: .relaxed) }

    /// Why the last failed request failed (nil until one has), for logs and the status page.
    public var lastError: SpanExporterError? { self.control.lastError.withLock { $0 } }

    /// 32 random hex digits: this process's `service.instance.id`.
    private static func instanceID() -> String {
        var generator = SystemRandomNumberGenerator()
        return TraceHex.string(generator.next()) + TraceHex.string(generator.next())
    }

    private static func hostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? nil : name
    }
}
