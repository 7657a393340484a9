/// One upstream node as the health controller sees it, independent of ``ProxyPlan``'s layout.
package struct MonitoredNode: Sendable {
    /// Index of the node's upstream in the controller's `upstreams`.
    package var upstreamIndex: Int
    /// Position of the node inside its upstream (file order).
    package var nodeIndex: Int
    /// Index in the ``NodeHealthBoard`` the workers read and count into.
    package var boardIndex: Int
    /// The node's label in metrics, logs and `/status` ("host:port" as configured).
    package var label: String
    /// Where probes connect.
    package var address: SocketAddress
    /// `Host` of HTTP probes unless `checks.active.host` is set.
    package var hostHeader: String

    package init(
        upstreamIndex: Int,
        nodeIndex: Int,
        boardIndex: Int,
        label: String,
        address: SocketAddress,
        hostHeader: String
    ) {
        self.upstreamIndex = upstreamIndex
        self.nodeIndex = nodeIndex
        self.boardIndex = boardIndex
        self.label = label
        self.address = address
        self.hostHeader = hostHeader
    }
}

/// The health-related settings of one upstream.
package struct MonitoredUpstream: Sendable {
    package var id: String
    package var checks: HealthChecksConfig?
    package var circuitBreaker: CircuitBreakerConfig
    /// Percent of available nodes under which the upstream is in panic (0: never).
    package var panicThreshold: Int
    /// The upstream's index on the health board (the plan's upstream index); -1: its position.
    package var boardIndex = -1
    /// The TLS client context of `https` active probes (``ActiveProbeTLS``); without one they fail.
    package var probeTLS: TLSClientContext?

    package init(
        id: String,
        checks: HealthChecksConfig?,
        circuitBreaker: CircuitBreakerConfig,
        panicThreshold: Int = 50
    ) {
        self.id = id
        self.checks = checks
        self.circuitBreaker = circuitBreaker
        self.panicThreshold = panicThreshold
    }

    package init(_ config: UpstreamConfig) {
        self.init(
            id: config.id,
            checks: config.checks,
            circuitBreaker: config.circuitBreaker,
            panicThreshold: config.panicThreshold
        )
    }
}
