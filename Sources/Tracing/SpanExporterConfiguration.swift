/// How the ``SpanExporter`` reaches its OTLP/HTTP receiver, batches and retries.
///
/// The gateway's config reader fills it from `tracing.otlp` (`endpoint`, `batch_size`, `flush_interval`,
/// `max_queue_size`, `timeout`) and the service name it is given; the other fields keep their defaults there.
public struct SpanExporterConfiguration: Sendable, Equatable {
    /// Where spans are POSTed: an `http://` URL split into its parts.
    public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
        /// The host name or address (an IPv6 literal without its brackets).
        public var host: String
        /// The TCP port (80 when the URL names none).
        public var port: Int
        /// The request target, e.g. `/v1/traces`.
        public var path: String

        /// An endpoint from its parts.
        public init(host: String, port: Int, path: String) {
            self.host = host
            self.port = port
            self.path = path
        }

        /// Parses `http://host[:port][/path]`. A URL without a path gets OTLP's `/v1/traces`; any path
        /// given (even `/`) is used as it is. `https://` is refused: the exporter speaks plain HTTP only
        /// (send to a local collector or agent, which forwards over TLS).
        public init(url: String) throws(SpanExporterError) {
            let invalid = { (why: String) in
                SpanExporterError(.invalidConfiguration, "tracing.otlp.endpoint \"\(url)\": \(why)")
            }
            let lowered = url.lowercased()
            if lowered.hasPrefix("https://") {
                throw invalid(
                    "https is not supported; use an http:// endpoint (a local OpenTelemetry Collector can forward over TLS)"
                )
            }
            guard lowered.hasPrefix("http://") else { throw invalid("expected an http:// URL") }
            let rest = url.dropFirst("http://".count)
            let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            var path = String(rest.dropFirst(authority.count))
            if let fragment = path.firstIndex(of: "#") { path = String(path[..<fragment]) }
            if path.isEmpty { path = "/v1/traces" }
            if path.hasPrefix("?") { path = "/" + path }
            if authority.contains("@") { throw invalid("credentials in the URL are not supported") }
            var host: Substring
            var portText: Substring?
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { throw invalid("unclosed IPv6 literal") }
                host = authority[authority.index(after: authority.startIndex)..<close]
                let after = authority[authority.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":") else { throw invalid("unexpected text after the IPv6 literal") }
                    portText = after.dropFirst()
                }
            } else if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            guard !host.isEmpty else { throw invalid("no host") }
            var port = 80
            if let portText {
                guard let value = Int(portText), (1...65535).contains(value) else {
                    throw invalid("the port must be a number from 1 to 65535")
                }
                port = value
            }
            self.init(host: String(host), port: port, path: path)
        }

        /// The value of the `Host` header: the host (bracketed when IPv6) and the port unless it is 80.
        public var hostHeader: String {
            let name = self.host.contains(":") ? "[\(self.host)]" : self.host
            return self.port == 80 ? name : "\(name):\(self.port)"
        }

        /// The endpoint as an `http://` URL.
        public var description: String { "http://\(self.hostHeader)\(self.path)" }
    }

    /// The receiver (`tracing.otlp.endpoint`).
    public var endpoint: Endpoint
    /// Spans per request, at most (`tracing.otlp.batch_size`); a full batch is sent at once.
    public var batchSize: Int = 512
    /// The longest a queued span waits for its batch to fill before it is sent anyway
    /// (`tracing.otlp.flush_interval`).
    public var flushInterval: Duration = .seconds(1)
    /// Spans the exporter holds while it waits or retries (`tracing.otlp.max_queue_size`); more are dropped
    /// and counted as `queue_full`.
    public var maxQueueSize: Int = 2048
    /// The longest one request may take, connecting included (`tracing.otlp.timeout`).
    public var timeout: Duration = .seconds(10)
    /// Tries per batch, the first included, before it is dropped as `export_failed`.
    public var maxAttempts: Int = 5
    /// The wait before the first retry; it doubles for each further one (with jitter), up to ``maxBackoff``.
    public var initialBackoff: Duration = .milliseconds(500)
    /// The longest wait between two tries (a receiver's `Retry-After` is capped to it too).
    public var maxBackoff: Duration = .seconds(5)
    /// How long ``SpanExporter/shutdown()`` may spend sending what is queued.
    public var shutdownTimeout: Duration = .seconds(5)
    /// How often the exporter thread looks into the rings when it is idle or waiting on the receiver.
    public var pollInterval: Duration = .milliseconds(20)
    /// Slots per ring made by ``SpanExporter/makeRing()``: enough for a worker's spans over a few poll
    /// intervals at its peak rate.
    public var ringCapacity: Int = 4096
    /// The resource's `service.name`.
    public var serviceName: String = "gateway"
    /// The resource's `service.version`, left out when empty.
    public var serviceVersion: String = ""
    /// Further resource attributes (`service.namespace`, `deployment.environment.name`, ...); they win over
    /// the ones the exporter sets itself (`service.name`, `service.version`, `service.instance.id`,
    /// `host.name`).
    public var resourceAttributes: [String: String] = [:]

    /// A configuration for `endpoint` with every other field at its default.
    public init(endpoint: Endpoint) {
        self.endpoint = endpoint
    }

    /// A configuration for the endpoint URL `endpoint` (see ``Endpoint/init(url:)``).
    public init(endpoint: String) throws(SpanExporterError) {
        self.init(endpoint: try Endpoint(url: endpoint))
    }

    /// Throws ``SpanExporterError/Code/invalidConfiguration`` for a value the exporter cannot work with,
    /// naming its `tracing.otlp` key.
    public func validate() throws(SpanExporterError) {
        func require(_ holds: Bool, _ message: String) throws(SpanExporterError) {
            if !holds { throw SpanExporterError(.invalidConfiguration, message) }
        }
        try require(self.batchSize >= 1, "tracing.otlp.batch_size must be at least 1")
        try require(self.maxQueueSize >= self.batchSize, "tracing.otlp.max_queue_size must be at least batch_size")
        try require(self.flushInterval > .zero, "tracing.otlp.flush_interval must be positive")
        try require(self.timeout > .zero, "tracing.otlp.timeout must be positive")
        try require(self.maxAttempts >= 1, "the exporter's maxAttempts must be at least 1")
        try require(self.initialBackoff >= .zero && self.maxBackoff >= .zero, "backoff times must not be negative")
        try require(self.pollInterval > .zero, "the exporter's pollInterval must be positive")
        try require(self.ringCapacity >= 2, "the exporter's ringCapacity must be at least 2")
        try require(!self.serviceName.isEmpty, "the service name (resource attribute service.name) must not be empty")
        try require(!self.endpoint.host.isEmpty && (1...65535).contains(self.endpoint.port), "bad endpoint")
    }
}
