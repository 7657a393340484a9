/// A named group of nodes a route sends requests to, in APISIX's upstream shape.
package struct UpstreamConfig: Sendable, Equatable {
    /// How a node is picked for each request.
    package enum BalancerType: String, Sendable, Equatable, CaseIterable {
        /// Smooth weighted round-robin, as nginx does it.
        case roundrobin
    }

    /// Which `Host` header the upstream receives (`pass_host`).
    package enum PassHost: String, Sendable, Equatable, CaseIterable {
        /// The client's `Host` as received.
        case pass
        /// The chosen node's "host:port".
        case node
        /// ``UpstreamConfig/upstreamHost``.
        case rewrite
    }

    /// Protocol spoken to the nodes.
    package enum Scheme: String, Sendable, Equatable, CaseIterable {
        case http
    }

    /// Connect, send and read timeouts towards the nodes.
    package struct Timeouts: Sendable, Equatable {
        /// Time allowed to establish a connection; exceeded gives 502.
        package var connect: Duration = .seconds(2)
        /// Longest gap between two writes of the request; exceeded gives 504.
        package var send: Duration = .seconds(10)
        /// Longest gap between two reads of the response; exceeded gives 504.
        package var read: Duration = .seconds(10)

        package init() {}
    }

    /// Per-worker keep-alive pool towards the nodes (APISIX's `keepalive_pool`).
    package struct KeepalivePool: Sendable, Equatable {
        /// Idle connections kept per worker for this upstream.
        package var size: Int = 320
        /// How long an idle pooled connection is kept.
        package var idleTimeout: Duration = .seconds(60)
        /// Requests served on one connection before it is closed.
        package var requests: Int = 1000

        package init() {}
    }

    /// Unique id routes refer to; inline route upstreams get "route:<route id>".
    package var id: String
    /// The balancing algorithm.
    package var type: BalancerType = .roundrobin
    /// Nodes in file order; weight 0 nodes are kept but never picked.
    package var nodes: [UpstreamNode] = []
    /// Timeouts towards the nodes.
    package var timeout: Timeouts = Timeouts()
    /// Keep-alive pool settings.
    package var keepalivePool: KeepalivePool = KeepalivePool()
    /// Protocol towards the nodes.
    package var scheme: Scheme = .http
    /// `Host` header policy.
    package var passHost: PassHost = .pass
    /// The `Host` sent when ``passHost`` is ``PassHost/rewrite``.
    package var upstreamHost: String?
    /// Extra attempts on other nodes after a failed connect; `nil` uses the engine's default.
    package var retries: Int?
    /// Total time allowed for all retries; `nil` means no limit beyond the per-try timeouts.
    package var retryTimeout: Duration?
    /// Key path this upstream was read from ("upstreams[0]" or "routes[2].upstream"), for later error messages.
    package var sourcePath: String = ""

    package init(id: String) {
        self.id = id
    }
}
