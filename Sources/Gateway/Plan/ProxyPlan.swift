import Glibc

/// The loaded configuration compiled into flat, reference-free tables a worker reads per request.
///
/// Immutable once built. Hot fields live in manually allocated arrays of plain structs so that reading
/// them costs no ARC traffic and no bounds-checked copies of nested arrays.
public final class ProxyPlan: @unchecked Sendable {
    /// Per-route facts the worker needs after a match.
    package struct Route {
        /// Index into `upstreams`, or -1 for a route answered by the gateway itself (mocking).
        package var upstream: Int32
        /// 0 = unlimited.
        package var maxBodyBytes: Int64
        /// Status line and fixed headers of a mock response (per-request headers follow them).
        package var mockHeadOffset: Int32
        package var mockHeadLength: Int32
        package var mockBodyOffset: Int32
        package var mockBodyLength: Int32
        package var mockStatus: Int16
        /// In the route table; a retired route keeps its entry for requests in flight.
        package var live = true
        /// Plugins run for it (its own or a global rule's): read per request instead of the chains.
        package var hasPlugins = false
        /// A new trace started by a request it matches is sampled below this (its own
        /// `tracing.sampling_ratio`, else the global one); 0 starts no traces.
        package var traceThreshold: UInt64 = 0
        /// `Upgrade` tokens the route forwards, lower-cased and comma-separated in the arena
        /// (`websocket` for `enable_websocket`, then `upgrade_protocols`); length 0: none.
        package var upgradeOffset: Int32 = 0
        package var upgradeLength: Int32 = 0
        /// A tunnel's idle timeout in nanoseconds (`websocket_idle_timeout`); 0: the upstream's read timeout.
        package var tunnelIdleTimeout: UInt64 = 0
    }

    /// Per-upstream settings in nanoseconds and counts.
    package struct Upstream {
        /// The upstream's nodes are `members[firstMember..<firstMember + memberCount]`.
        package var firstMember: Int32
        package var memberCount: Int32
        package var connectTimeout: UInt64
        package var sendTimeout: UInt64
        package var readTimeout: UInt64
        package var poolSize: Int32
        package var poolIdleTimeout: UInt64
        package var poolMaxRequests: UInt32
        /// Which Host the upstream request carries.
        package var passHost: UpstreamConfig.PassHost
        package var hostOffset: Int32
        package var hostLength: Int32
        /// The upstream id, for error bodies.
        package var nameOffset: Int32 = 0
        package var nameLength: Int32 = 0
        package var balancer: Balancer = .roundRobin
        /// For `chash`: where the key comes from, and the header or cookie name (arena bytes).
        package var hashOn: HashSource = .remoteAddress
        package var hashKeyOffset: Int32 = 0
        package var hashKeyLength: Int32 = 0
        /// Index into `rings` for `chash` upstreams.
        package var ring: Int32 = -1
        /// Upstream attempts after the first one.
        package var retries: Int32 = 0
        /// 0: no limit on the time all attempts may take.
        package var retryTimeout: UInt64 = 0
        package var retryOn: RetryConditions = [.connectFailure, .timeout]
        package var retryBudgetPercent: Int32 = 20
        package var retryBudgetMinimum: Int32 = 3
        package var retryBackoffBase: UInt64 = 25_000_000
        package var retryBackoffMax: UInt64 = 250_000_000
        /// Which response statuses passive health counts as successes and failures.
        package var classifier = NodeOutcomeClassifier(passive: nil)
        /// Probe requests each worker may send to a half-open node per half-open period.
        package var halfOpenRequests: Int32 = 1
        /// Configured now; a retired upstream has no members, so nothing new is sent to it.
        package var live = true
        /// `scheme: grpc | grpcs`: requests go to the nodes as HTTP/2 streams.
        package var http2 = false
        /// Over TLS (`https`, `grpcs`): `:scheme` of HTTP/2 requests.
        package var secure = false
    }

    /// How an upstream spreads requests over its nodes.
    package enum Balancer: UInt8 {
        case roundRobin, leastConnections, consistentHash, peakEWMA
    }

    /// Where a consistent-hash key comes from.
    package enum HashSource: UInt8 {
        case header, cookie, remoteAddress
    }

    /// When a failed attempt may be retried on another node.
    package struct RetryConditions: OptionSet, Sendable {
        package let rawValue: UInt8
        package init(rawValue: UInt8) { self.rawValue = rawValue }
        package static let connectFailure = RetryConditions(rawValue: 1)
        package static let timeout = RetryConditions(rawValue: 2)
        package static let status502 = RetryConditions(rawValue: 4)
        package static let status503 = RetryConditions(rawValue: 8)
        package static let status504 = RetryConditions(rawValue: 16)
    }

    /// One upstream node.
    package struct Node {
        package var address: SocketAddress
        package var weight: Int32
        package var upstream: Int32
        /// "host:port" as configured, used as the Host header for `pass_host: node`.
        package var hostOffset: Int32
        package var hostLength: Int32
        /// Position in ``members``.
        package var member: Int32 = 0
        /// In its upstream now; a retired node is never picked and its connections are not pooled.
        package var live = true
    }

    package let config: GatewayConfig
    /// 0 for the plan a process starts with, one more for each reload.
    package let generation: UInt64
    /// The stable indices after this plan, the start of the next reload's placement.
    package let layout: PlanLayout
    /// What this plan changed about the indices against the one before it.
    package let placement: PlanLayout.Placement
    public let routeTable: RouteTable
    /// One past the highest route index in use (live or retired); entries below it are valid.
    package let routeCount: Int
    package let routes: UnsafeMutablePointer<Route>
    package let upstreamCount: Int
    package let upstreams: UnsafeMutablePointer<Upstream>
    package let nodeCount: Int
    package let nodes: UnsafeMutablePointer<Node>
    /// Node indices upstream by upstream (`Upstream.firstMember`), then the retired nodes, so every
    /// node has a position (``Node/member``) where balancer state can sit contiguously per upstream.
    package let members: UnsafeMutablePointer<Int32>
    package let memberCount: Int
    /// Sizes of the tables, fixed for the process (``PlanLayout``).
    package let routeCapacity: Int
    package let upstreamCapacity: Int
    package let nodeCapacity: Int
    package let bytes: UnsafeMutableRawPointer
    package let httpLimits: HTTPLimits
    package let headerTimeout: UInt64
    package let keepaliveTimeout: UInt64
    package let bodyTimeout: UInt64
    package let sendTimeout: UInt64
    package let drainTimeout: UInt64
    /// Ids by index, below `routeCount` and `upstreamCount` (retired entries keep theirs).
    package let routeIDs: [String]
    package let upstreamIDs: [String]
    /// Each upstream's configuration by index (a retired one keeps its last).
    package let upstreamConfigs: [UpstreamConfig]
    /// Each node's address as configured ("host:port"), by index.
    package let nodeAddresses: [String]
    /// Plugin chains by route, the global rules' chain, and the consumers.
    package let plugins: PluginPlan
    /// Global rules have plugins (they run for requests no route matched too).
    package let hasGlobalPlugins: Bool
    /// The certificates TLS listeners serve (nil when there is no TLS listener and no `ssls`).
    package let tls: TLSCertificateSet?
    /// TLS client contexts of `https` upstreams by upstream index (nil: plain HTTP).
    package let upstreamTLS: [TLSClientContext?]
    /// `limits.tls_handshake_timeout` in nanoseconds.
    package let tlsHandshakeTimeout: UInt64
    /// Tracing and access-log sampling decisions (both apply on reload).
    package let sampling: RequestSampling

    /// Compiles `config` into tables laid out by `layout` (updated for `config`), keeping the entries
    /// `previous` had for what `config` no longer has (retired), so requests in flight on them finish.
    package init(config: GatewayConfig, layout: PlanLayout, previous: ProxyPlan?, now: UInt64) throws(ConfigError) {
        var layout = layout
        let placement = try layout.place(config, now: now)
        // Plugins first: they allocate nothing the plan must free if they fail.
        let plugins = try PluginPlan.compile(
            config: config,
            routeIndices: placement.routes.indices,
            routeCount: Int(layout.routes.highWater),
            previous: previous,
            shared: PluginSharedState.process
        )
        let tls =
            config.hasTLSListener || !config.ssls.isEmpty
            ? try TLSCertificateSet(ssls: config.ssls, settings: config.tls, sourceName: config.sourceName) : nil
        let tables = try PlanTables(config: config, placement: placement, layout: layout, previous: previous)
        self.tls = tls
        var clients: [TLSClientContext?] = []
        var tlsIssues: [ConfigIssue] = []
        for upstream in tables.upstreamConfigs {
            guard upstream.scheme.isTLS else {
                clients.append(nil)
                continue
            }
            // nil: each connection sends and verifies its node's host name, or verifies its IP address.
            let name = upstream.tls.sni ?? (upstream.passHost == .rewrite ? upstream.upstreamHost : nil)
            do throws(TLSError) {
                clients.append(
                    try TLSClientContext(
                        upstream.tls,
                        settings: config.tls,
                        serverName: name,
                        http2: upstream.scheme == .grpcs
                    )
                )
            } catch {
                clients.append(nil)
                tlsIssues.append(ConfigIssue(path: "\(upstream.sourcePath).tls", line: nil, reason: error.message))
            }
        }
        guard tlsIssues.isEmpty else {
            throw ConfigError(code: .invalid, issues: tlsIssues, sourceName: config.sourceName)
        }
        upstreamTLS = clients
        tlsHandshakeTimeout = config.limits.tlsHandshakeTimeout.nanoseconds
        self.config = config
        self.generation = previous.map { $0.generation + 1 } ?? 0
        self.layout = layout
        self.placement = placement
        routeCapacity = layout.routes.capacity
        upstreamCapacity = layout.upstreams.capacity
        nodeCapacity = layout.nodes.capacity
        routeCount = Int(layout.routes.highWater)
        upstreamCount = Int(layout.upstreams.highWater)
        nodeCount = Int(layout.nodes.highWater)
        routeTable = RouteTable(routes: config.routes, indices: placement.routes.indices)
        routes = tables.routes
        upstreams = tables.upstreams
        nodes = tables.nodes
        members = tables.members
        memberCount = tables.memberCount
        rings = tables.rings
        ringCount = tables.ringCount
        bytes = tables.bytes
        routeIDs = tables.routeIDs
        upstreamIDs = tables.upstreamIDs
        upstreamConfigs = tables.upstreamConfigs
        nodeAddresses = tables.nodeAddresses
        self.plugins = plugins
        hasGlobalPlugins = plugins.global != nil
        for route in 0..<Int(layout.routes.highWater) {
            tables.routes[route].hasPlugins = plugins.hasPlugins(route: route)
        }
        let sampling = RequestSampling(
            tracing: config.tracing,
            accessLog: config.accessLog.sampling,
            routeOverrides: config.routes.contains { $0.enabled && $0.tracingSamplingRatio != nil }
        )
        for (position, route) in config.routes.filter(\.enabled).enumerated() {
            let ratio = route.tracingSamplingRatio ?? (config.tracing.enabled ? config.tracing.samplingRatio : 0)
            tables.routes[Int(placement.routes.indices[position])].traceThreshold = RequestSampling.threshold(ratio)
        }
        self.sampling = sampling

        var limits = HTTPLimits()
        limits.maxRequestLineBytes = config.limits.maxRequestLineBytes
        limits.maxHeaderBytes = config.limits.maxHeaderBytes
        limits.maxHeaderCount = config.limits.maxHeaderCount
        httpLimits = limits
        headerTimeout = config.limits.headerTimeout.nanoseconds
        keepaliveTimeout = config.limits.keepaliveTimeout.nanoseconds
        bodyTimeout = config.limits.clientBodyTimeout.nanoseconds
        sendTimeout = config.limits.sendTimeout.nanoseconds
        drainTimeout = config.shutdown.drainTimeout.nanoseconds
    }

    /// Compiles `config` as the first plan of a process.
    public convenience init(config: GatewayConfig) throws(ConfigError) {
        try self.init(config: config, layout: PlanLayout(sizedFor: config), previous: nil, now: 0)
    }

    deinit {
        for index in 0..<ringCount { rings[index].release() }
        rings.deallocate()
        routes.deallocate()
        upstreams.deallocate()
        nodes.deallocate()
        members.deallocate()
        bytes.deallocate()
    }

    /// Live entries: routed to, picked, monitored. Others below the counts are retired or unused.
    @inline(__always)
    package func isLive(route: Int) -> Bool { routes[route].live }
    @inline(__always)
    package func isLive(upstream: Int) -> Bool { upstreams[upstream].live }
    @inline(__always)
    package func isLive(node: Int) -> Bool { nodes[node].live }

    /// The node at position `offset` of upstream `upstream`.
    @inline(__always)
    package func node(upstream: Int, offset: Int) -> Int {
        Int(members[Int(upstreams[upstream].firstMember) + offset])
    }

    /// Status line and headers of a mock response, up to (not including) the per-request headers.
    static func mockResponseHead(_ mock: MockResponse) -> String {
        var text = "HTTP/1.1 \(mock.status) \(HTTPStatusText.reason(mock.status).description)\r\n"
        text += "Content-Type: \(mock.contentType)\r\n"
        for header in mock.headers { text += "\(header.name): \(header.value)\r\n" }
        text += "Content-Length: \(mock.body.utf8.count)\r\n"
        return text
    }

    static func balancer(_ type: UpstreamConfig.BalancerType) -> Balancer {
        switch type {
        case .roundrobin: return .roundRobin
        case .leastConn: return .leastConnections
        case .chash: return .consistentHash
        case .ewma: return .peakEWMA
        }
    }

    static func hashSource(_ source: UpstreamConfig.HashOn) -> HashSource {
        switch source {
        case .header: return .header
        case .cookie: return .cookie
        case .vars: return .remoteAddress
        }
    }

    static func retryConditions(_ conditions: [RetryPolicy.Condition]) -> RetryConditions {
        var result: RetryConditions = []
        for condition in conditions {
            switch condition {
            case .connectFailure: result.insert(.connectFailure)
            case .timeout: result.insert(.timeout)
            case .status502: result.insert(.status502)
            case .status503: result.insert(.status503)
            case .status504: result.insert(.status504)
            }
        }
        return result
    }

    /// A stable pointer to node `node`'s socket address, for io_uring connects.
    @inline(__always)
    package func socketAddressPointer(node: Int) -> UnsafePointer<sockaddr> {
        let offset =
            MemoryLayout<Node>.offset(of: \Node.address)! + MemoryLayout<SocketAddress>.offset(
                of: \SocketAddress.storage
            )!
        return UnsafeRawPointer(nodes + node).advanced(by: offset).assumingMemoryBound(to: sockaddr.self)
    }

    /// Consistent-hash rings of `chash` upstreams, unmanaged so a worker's lookup costs no ARC.
    package let rings: UnsafeMutablePointer<Unmanaged<ConsistentHashRing>>
    package let ringCount: Int

    @inline(__always)
    package func ring(_ index: Int32) -> Unmanaged<ConsistentHashRing> { rings[Int(index)] }

    /// The bytes of the arena at `offset`.
    @inline(__always)
    package func arena(_ offset: Int32, _ length: Int32) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: bytes + Int(offset), count: Int(length))
    }
}

extension Duration {
    /// Whole nanoseconds, saturating.
    package var nanoseconds: UInt64 {
        let parts = components
        if parts.seconds < 0 { return 0 }
        let (product, overflow) = UInt64(parts.seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        return product &+ UInt64(parts.attoseconds / 1_000_000_000)
    }
}
