import Telemetry

/// The gateway's metric families, registered once per process, with per-route series resolved ahead of
/// time so a worker records by array index. Names are a contract (dashboards, alerts): see docs/METRICS.md.
package final class GatewayMetrics: Sendable {
    /// Label value for requests that matched no route (never the raw path).
    package static let unmatchedRoute = "__unmatched__"
    /// Classic bucket bounds of the latency families without `metrics.buckets`.
    package static let defaultLatencyBuckets: [Double] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
    ]

    package let registry: MetricRegistry
    package let settings: MetricsSettings
    package let requests: CounterFamily
    package let requestDuration: HistogramFamily
    package let upstreamDuration: HistogramFamily
    package let overheadDuration: HistogramFamily
    package let requestSize: HistogramFamily
    package let responseSize: HistogramFamily
    package let downstreamConnections: GaugeFamily
    package let downstreamConnectionsTotal: CounterFamily
    package let upstreamConnections: CounterFamily
    package let timeouts: CounterFamily
    package let rejected: CounterFamily
    package let poolIdle: GaugeFamily
    package let retries: CounterFamily
    package let retryBudgetExhausted: CounterFamily
    package let panicRequests: CounterFamily
    package let pluginRejections: CounterFamily
    package let pluginDuration: HistogramFamily
    package let tlsHandshakes: CounterFamily
    package let tlsHandshakeDuration: HistogramFamily
    package let tlsResumptions: CounterFamily
    package let websocketActive: GaugeFamily
    package let websocketTotal: CounterFamily
    package let tunnelBytes: CounterFamily
    package let websocketDuration: HistogramFamily
    package let websocketDrainClosed: CounterFamily
    package let http2Connections: GaugeFamily
    package let http2Streams: GaugeFamily
    package let http2Goaway: CounterFamily
    package let http2Resets: CounterFamily
    package let grpcRequests: CounterFamily

    package init(registry: MetricRegistry, plan: ProxyPlan) throws(TelemetryError) {
        self.registry = registry
        settings = plan.config.metrics
        let settings = plan.config.metrics
        let native: NativeHistogramOptions? = settings.nativeHistograms ? NativeHistogramOptions() : nil
        // Latency-objective thresholds join their family's layout, so `gateway rules` finds an `le` at each.
        let config = plan.config
        func buckets(_ family: String, _ fallback: [Double]) -> [Double] {
            config.bucketLayout(for: family, fallback: fallback)
        }
        let latency = Self.defaultLatencyBuckets
        let sizes: [Double] = [64, 256, 1024, 4096, 16384, 65536, 262_144, 1_048_576, 4_194_304, 16_777_216]
        let limit = settings.maxSeries

        requests = try registry.counter(
            "gateway_http_requests_total",
            help: "Requests answered, by route, method and status code.",
            labelNames: settings.consumerLabel
                ? ["route", "method", "code", "consumer"] : ["route", "method", "code"],
            maxSeries: limit
        )
        requestDuration = try registry.histogram(
            "gateway_http_request_duration_seconds",
            help: "Total time from a complete request head to the last response byte handed to the kernel.",
            labelNames: ["route"],
            buckets: buckets("gateway_http_request_duration_seconds", latency),
            native: native,
            exemplarLabelName: "request_id",
            maxSeries: limit
        )
        upstreamDuration = try registry.histogram(
            "gateway_upstream_request_duration_seconds",
            help: "Time from sending the request upstream to the end of the upstream response.",
            labelNames: ["route", "upstream"],
            buckets: buckets("gateway_upstream_request_duration_seconds", latency),
            native: native,
            exemplarLabelName: "request_id",
            maxSeries: limit
        )
        overheadDuration = try registry.histogram(
            "gateway_http_overhead_duration_seconds",
            help: "Time the gateway itself added: total request time minus time waiting on the upstream.",
            labelNames: ["route"],
            buckets: buckets(
                "gateway_http_overhead_duration_seconds",
                [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1]
            ),
            native: nil,
            maxSeries: limit
        )
        requestSize = try registry.histogram(
            "gateway_http_request_size_bytes",
            help: "Bytes received from the client per request (head and body).",
            labelNames: ["route"],
            buckets: buckets("gateway_http_request_size_bytes", sizes),
            native: nil,
            maxSeries: limit
        )
        responseSize = try registry.histogram(
            "gateway_http_response_size_bytes",
            help: "Bytes sent to the client per response (head and body).",
            labelNames: ["route"],
            buckets: buckets("gateway_http_response_size_bytes", sizes),
            native: nil,
            maxSeries: limit
        )
        downstreamConnections = try registry.gauge(
            "gateway_downstream_connections_active",
            help: "Open client connections, per worker.",
            labelNames: ["worker"]
        )
        downstreamConnectionsTotal = try registry.counter(
            "gateway_downstream_connections_total",
            help: "Client connections accepted, per worker.",
            labelNames: ["worker"]
        )
        upstreamConnections = try registry.counter(
            "gateway_upstream_connections_total",
            help:
                "Upstream connection events: opened (new TCP connection), reused (from the keep-alive pool), failed (connect error or timeout).",
            labelNames: settings.nodeLabels ? ["upstream", "node", "event"] : ["upstream", "event"],
            maxSeries: limit
        )
        timeouts = try registry.counter(
            "gateway_timeouts_total",
            help:
                "Timeouts by kind: client_header, client_body, client_send, upstream_connect, upstream_send, upstream_read, tls_handshake, tunnel_idle.",
            labelNames: ["kind"]
        )
        rejected = try registry.counter(
            "gateway_http_rejected_requests_total",
            help: "Requests rejected by the HTTP parser, by reason.",
            labelNames: ["reason"]
        )
        poolIdle = try registry.gauge(
            "gateway_upstream_pool_idle_connections",
            help: "Idle keep-alive connections parked in the upstream pools (all workers).",
            labelNames: ["upstream"]
        )
        retries = try registry.counter(
            "gateway_upstream_retries_total",
            help:
                "Attempts sent to another node after a failure, by reason: connect_failure, timeout, status (502/503/504).",
            labelNames: ["upstream", "reason"]
        )
        retryBudgetExhausted = try registry.counter(
            "gateway_upstream_retry_budget_exhausted_total",
            help: "Retries refused because retries in flight reached the upstream's retry budget.",
            labelNames: ["upstream"]
        )
        panicRequests = try registry.counter(
            "gateway_upstream_panic_requests_total",
            help: "Requests sent while the upstream was in panic (too few available nodes: all nodes eligible).",
            labelNames: ["upstream"]
        )
        pluginRejections = try registry.counter(
            "gateway_plugin_rejections_total",
            help:
                "Requests a plugin ended (authentication failed, limit reached, address refused), by route, plugin and status code.",
            labelNames: ["route", "plugin", "code"],
            maxSeries: limit
        )
        pluginDuration = try registry.histogram(
            "gateway_plugin_duration_seconds",
            help: "Time one plugin phase took on the worker (recorded with metrics.plugin_timing).",
            labelNames: ["plugin", "phase"],
            buckets: buckets("gateway_plugin_duration_seconds", [0.000_001, 0.000_01, 0.000_1, 0.001, 0.01]),
            native: native,
            maxSeries: limit
        )
        tlsHandshakes = try registry.counter(
            "gateway_tls_handshakes_total",
            help:
                "TLS handshakes on data-plane listeners by result (success, timeout, peer_closed, plain_http, protocol_error, unsupported, no_certificate, client_certificate, internal) and protocol.",
            labelNames: ["result", "protocol"]
        )
        tlsHandshakeDuration = try registry.histogram(
            "gateway_tls_handshake_duration_seconds",
            help:
                "Time from the first ClientHello bytes to a completed TLS handshake (failed handshakes are not observed).",
            labelNames: [],
            buckets: buckets(
                "gateway_tls_handshake_duration_seconds",
                [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]
            ),
            native: native
        )
        tlsResumptions = try registry.counter(
            "gateway_tls_resumptions_total",
            help: "Completed TLS handshakes that resumed a session (ticket or session cache).",
            labelNames: []
        )
        websocketActive = try registry.gauge(
            "gateway_websocket_connections_active",
            help: "Open WebSocket and other Upgrade tunnels (the upstream answered 101), by route.",
            labelNames: ["route"]
        )
        websocketTotal = try registry.counter(
            "gateway_websocket_connections_total",
            help: "WebSocket and other Upgrade tunnels opened (the upstream answered 101), by route.",
            labelNames: ["route"],
            maxSeries: limit
        )
        tunnelBytes = try registry.counter(
            "gateway_tunnel_bytes_total",
            help:
                "Bytes relayed through Upgrade tunnels after the 101, by route and direction (client_to_upstream, upstream_to_client).",
            labelNames: ["route", "direction"],
            maxSeries: limit
        )
        websocketDuration = try registry.histogram(
            "gateway_websocket_duration_seconds",
            help: "How long Upgrade tunnels stayed open, from the 101 to the close of either side.",
            labelNames: ["route"],
            buckets: buckets(
                "gateway_websocket_duration_seconds",
                [0.1, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 14400, 86400]
            ),
            native: nil,
            maxSeries: limit
        )
        websocketDrainClosed = try registry.counter(
            "gateway_websocket_drain_closed_total",
            help: "Upgrade tunnels still open when shutdown.drain_timeout ended, closed by the gateway, by route.",
            labelNames: ["route"],
            maxSeries: limit
        )
        http2Connections = try registry.gauge(
            "gateway_http2_connections_active",
            help: "Open HTTP/2 client connections (ALPN h2 or h2c with prior knowledge).",
            labelNames: []
        )
        http2Streams = try registry.gauge(
            "gateway_http2_streams_active",
            help: "HTTP/2 streams being served (each is a request to the rest of the gateway).",
            labelNames: []
        )
        http2Goaway = try registry.counter(
            "gateway_http2_goaway_sent_total",
            help:
                "GOAWAY frames sent, by reason: drain, idle, protocol_error, rapid_reset (CVE-2023-44487), flood (SETTINGS, PING, CONTINUATION or empty frames).",
            labelNames: ["reason"]
        )
        http2Resets = try registry.counter(
            "gateway_http2_resets_total",
            help: "RST_STREAM frames, by direction: received (from clients) or sent (by the gateway).",
            labelNames: ["direction"]
        )
        grpcRequests = try registry.counter(
            "gateway_grpc_requests_total",
            help:
                "Responses of grpc/grpcs upstreams by route and grpc-status (0 OK ... 16 UNAUTHENTICATED): HTTP 200 hides gRPC errors.",
            labelNames: ["route", "grpc_status"],
            maxSeries: limit
        )
    }
}
