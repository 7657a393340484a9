/// A named group of nodes a route sends requests to, in APISIX's upstream shape.
package struct UpstreamConfig: Sendable, Equatable {
    /// How a node is picked for each request.
    package enum BalancerType: String, Sendable, Equatable, CaseIterable {
        /// Smooth weighted round-robin, as nginx does it.
        case roundrobin
        /// Fewest requests in flight on this worker (weighted).
        case leastConn = "least_conn"
        /// Consistent hash of ``hashOn``/``hashKey`` on a ring with virtual nodes.
        case chash
        /// Latency-aware: lowest moving average of response time (power of two choices).
        case ewma
    }

    /// What `chash` hashes (`hash_on`).
    package enum HashOn: String, Sendable, Equatable, CaseIterable {
        /// The request header named by ``UpstreamConfig/hashKey``.
        case header
        /// The cookie named by ``UpstreamConfig/hashKey``.
        case cookie
        /// A variable; only `remote_addr` (the client address) is supported.
        case vars
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
        /// TLS to the nodes (`tls:` settings).
        case https
        /// gRPC: HTTP/2 in clear text (h2c with prior knowledge) to the nodes.
        case grpc
        /// gRPC over TLS: HTTP/2 after ALPN `h2` (`tls:` settings as for `https`).
        case grpcs

        /// The nodes speak HTTP/2.
        package var isHTTP2: Bool { self == .grpc || self == .grpcs }
        /// The nodes are reached over TLS.
        package var isTLS: Bool { self == .https || self == .grpcs }
    }

    /// TLS towards the nodes of an `https` upstream (`tls:`, APISIX's keys plus `sni` and a CA).
    package struct TLS: Sendable, Equatable {
        /// Verify the node's certificate chain and name (`verify`, default true).
        package var verify = true
        /// The server name sent and verified (`sni`); default: the `Host` the request goes with when it
        /// is a name, else the node's host.
        package var sni: String?
        /// Trusted CA certificates (PEM, `ca` or `ca_file`); default: the system bundle.
        package var caPEM: String?
        /// Client certificate and key for mTLS (`client_cert`/`client_key`, or `*_file`).
        package var clientCertificate: SSLCertificatePair?

        package init() {}
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
    /// TLS settings when ``scheme`` is `https`.
    package var tls = TLS()
    /// `Host` header policy.
    package var passHost: PassHost = .pass
    /// The `Host` sent when ``passHost`` is ``PassHost/rewrite``.
    package var upstreamHost: String?
    /// Extra attempts on other nodes after a failed attempt; `nil` means one less than the node count (APISIX).
    package var retries: Int?
    /// Total time allowed for all retries; `nil` means no limit beyond the per-try timeouts.
    package var retryTimeout: Duration?
    /// What `chash` hashes; only meaningful with ``type`` `chash`.
    package var hashOn: HashOn = .vars
    /// Header or cookie name for `chash` (lower-cased header name), or "remote_addr" for `vars`.
    package var hashKey: String = "remote_addr"
    /// Active and passive health checks; `nil` when `checks` is absent.
    package var checks: HealthChecksConfig?
    /// Per-node circuit breaker.
    package var circuitBreaker: CircuitBreakerConfig = CircuitBreakerConfig()
    /// Which failures are retried, the retry budget and backoff.
    package var retryPolicy: RetryPolicy = RetryPolicy()
    /// `panic_threshold`: when fewer than this percent of the nodes are available (healthy, circuit
    /// closed), balance over all nodes as if every one were available; 0 turns panic mode off.
    package var panicThreshold: Int = 50
    /// Key path this upstream was read from ("upstreams[0]" or "routes[2].upstream"), for later error messages.
    package var sourcePath: String = ""
    /// Service-level objectives (`slo`) that `gateway rules` turns into Prometheus rules.
    package var slo: SLOConfig?

    package init(id: String) {
        self.id = id
    }

    /// Retries after a failed attempt: ``retries`` or, as APISIX does, one less than the node count.
    package var effectiveRetries: Int {
        retries ?? max(0, nodes.count - 1)
    }
}
