/// A rule that sends matching requests to an upstream or answers them itself, in APISIX's route shape.
package struct RouteConfig: Sendable, Equatable {
    /// Unique id; the route's label in metrics and access logs.
    package var id: String
    /// Path patterns (`uris`, or a single `uri`): "/exact", "/prefix/*", "/users/:id".
    package var uris: [String]
    /// Host patterns (`hosts`, or a single `host`), lower-cased: "api.example.com" or "*.example.com";
    /// empty matches any host.
    package var hosts: [String] = []
    /// Accepted methods; empty accepts any.
    package var methods: [HTTPMethod] = []
    /// Higher wins when several routes match.
    package var priority: Int = 0
    /// The upstream requests go to; `nil` only for routes answered by ``mocking``.
    package var upstreamID: String?
    /// The service whose upstream and plugins the route takes where it has none of its own.
    package var serviceID: String?
    /// Largest request body for this route, overriding ``LimitsConfig/clientMaxBodySize``; 0 means unlimited.
    package var clientMaxBodySize: Int64?
    /// `status: 1` (default) or `status: 0` as in APISIX; disabled routes are validated but never matched.
    package var enabled: Bool = true
    /// A canned answer from the `mocking` plugin; when set the upstream is not contacted.
    package var mocking: MockResponse?
    /// The other plugins, with the service's merged in (the route's settings of a plugin win).
    package var plugins: [PluginSpec] = []
    /// Service-level objectives (`slo`) that `gateway rules` turns into Prometheus rules.
    package var slo: SLOConfig?
    /// The route's own `tracing.sampling_ratio`, replacing the global one for requests it matches.
    package var tracingSamplingRatio: Double?
    /// `enable_websocket` (APISIX's key): forward `Upgrade: websocket` and tunnel bytes after a 101.
    package var enableWebSocket = false
    /// `upgrade_protocols`: other `Upgrade` tokens the route forwards (lower-cased, for example `h2c`).
    package var upgradeProtocols: [String] = []
    /// `websocket_idle_timeout`: a tunnel with no bytes either way for this long closes; nil takes the
    /// upstream's `timeout.read`.
    package var websocketIdleTimeout: Duration?

    package init(id: String, uris: [String]) {
        self.id = id
        self.uris = uris
    }
}

/// A fixed response the gateway sends itself (APISIX's `mocking` plugin).
package struct MockResponse: Sendable, Equatable {
    /// One extra response header.
    package struct Header: Sendable, Equatable {
        package var name: String
        package var value: String

        package init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Status code (`response_status`), 200 by default.
    package var status: Int = 200
    /// Body (`response_example`).
    package var body: String = ""
    /// `Content-Type` (`content_type`), APISIX's default.
    package var contentType: String = "application/json;charset=utf8"
    /// Extra headers (`response_headers`) in file order.
    package var headers: [Header] = []

    package init() {}
}
