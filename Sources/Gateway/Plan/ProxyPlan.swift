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
    }

    /// Per-upstream settings in nanoseconds and counts.
    package struct Upstream {
        package var firstNode: Int32
        package var nodeCount: Int32
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
    }

    package let config: GatewayConfig
    public let routeTable: RouteTable
    package let routeCount: Int
    package let routes: UnsafeMutablePointer<Route>
    package let upstreamCount: Int
    package let upstreams: UnsafeMutablePointer<Upstream>
    package let nodeCount: Int
    package let nodes: UnsafeMutablePointer<Node>
    /// Byte arena for mock responses and host strings.
    package let bytes: UnsafeMutableRawPointer
    package let httpLimits: HTTPLimits
    package let headerTimeout: UInt64
    package let keepaliveTimeout: UInt64
    package let bodyTimeout: UInt64
    package let sendTimeout: UInt64
    package let drainTimeout: UInt64
    package let routeIDs: [String]
    package let upstreamIDs: [String]

    /// Compiles `config`; node host names must already be resolvable.
    public init(config: GatewayConfig) throws(ConfigError) {
        self.config = config
        let enabledRoutes = config.routes.filter(\.enabled)
        routeTable = RouteTable(routes: enabledRoutes)
        routeIDs = enabledRoutes.map(\.id)
        upstreamIDs = config.upstreams.map(\.id)

        var arena: [UInt8] = []
        func store(_ data: [UInt8]) -> (Int32, Int32) {
            let offset = arena.count
            arena.append(contentsOf: data)
            return (Int32(offset), Int32(data.count))
        }

        var issues: [ConfigIssue] = []
        var nodeList: [Node] = []
        var upstreamList: [Upstream] = []
        for (upstreamIndex, upstream) in config.upstreams.enumerated() {
            let first = nodeList.count
            for node in upstream.nodes {
                guard let address = SocketAddress.resolve(host: node.host, port: node.port) else {
                    issues.append(
                        ConfigIssue(
                            path: "upstreams[\(upstreamIndex)].nodes.\(node.address)",
                            line: nil,
                            reason: "cannot resolve host '\(node.host)'"
                        )
                    )
                    continue
                }
                let host = store(Array(node.address.utf8))
                nodeList.append(
                    Node(
                        address: address,
                        weight: Int32(clamping: node.weight),
                        upstream: Int32(upstreamIndex),
                        hostOffset: host.0,
                        hostLength: host.1
                    )
                )
            }
            let host = store(Array((upstream.upstreamHost ?? "").utf8))
            let name = store(Array(upstream.id.utf8))
            let hashKey = store(Array(upstream.hashKey.utf8))
            upstreamList.append(
                Upstream(
                    firstNode: Int32(first),
                    nodeCount: Int32(nodeList.count - first),
                    connectTimeout: upstream.timeout.connect.nanoseconds,
                    sendTimeout: upstream.timeout.send.nanoseconds,
                    readTimeout: upstream.timeout.read.nanoseconds,
                    poolSize: Int32(clamping: upstream.keepalivePool.size),
                    poolIdleTimeout: upstream.keepalivePool.idleTimeout.nanoseconds,
                    poolMaxRequests: UInt32(clamping: upstream.keepalivePool.requests),
                    passHost: upstream.passHost,
                    hostOffset: host.0,
                    hostLength: host.1,
                    nameOffset: name.0,
                    nameLength: name.1,
                    balancer: Self.balancer(upstream.type),
                    hashOn: Self.hashSource(upstream.hashOn),
                    hashKeyOffset: hashKey.0,
                    hashKeyLength: hashKey.1,
                    retries: Int32(clamping: upstream.effectiveRetries),
                    retryTimeout: upstream.retryTimeout?.nanoseconds ?? 0,
                    retryOn: Self.retryConditions(upstream.retryPolicy.retryOn),
                    retryBudgetPercent: Int32(clamping: upstream.retryPolicy.budget.percent),
                    retryBudgetMinimum: Int32(clamping: upstream.retryPolicy.budget.minRetries),
                    retryBackoffBase: upstream.retryPolicy.backoff.base.nanoseconds,
                    retryBackoffMax: upstream.retryPolicy.backoff.max.nanoseconds,
                    classifier: NodeOutcomeClassifier(passive: upstream.checks?.passive),
                    halfOpenRequests: Int32(clamping: upstream.circuitBreaker.halfOpenRequests)
                )
            )
        }
        if !issues.isEmpty { throw ConfigError(code: .invalid, issues: issues, sourceName: config.sourceName) }

        var routeList: [Route] = []
        for route in enabledRoutes {
            var entry = Route(
                upstream: -1,
                maxBodyBytes: config.limits.clientMaxBodySize,
                mockHeadOffset: 0,
                mockHeadLength: 0,
                mockBodyOffset: 0,
                mockBodyLength: 0,
                mockStatus: 0
            )
            if let limit = route.clientMaxBodySize { entry.maxBodyBytes = limit }
            if let mock = route.mocking {
                let head = store(Array(ProxyPlan.mockResponseHead(mock).utf8))
                let body = store(Array(mock.body.utf8))
                (entry.mockHeadOffset, entry.mockHeadLength) = head
                (entry.mockBodyOffset, entry.mockBodyLength) = body
                entry.mockStatus = Int16(clamping: mock.status)
            } else if let id = route.upstreamID, let index = config.upstreams.firstIndex(where: { $0.id == id }) {
                entry.upstream = Int32(index)
            }
            routeList.append(entry)
        }

        // One ring per chash upstream; a node's points depend on its address, so edits move few keys.
        var ringList: [Unmanaged<ConsistentHashRing>] = []
        for index in upstreamList.indices where upstreamList[index].balancer == .consistentHash {
            let first = Int(upstreamList[index].firstNode)
            let members = nodeList[first..<(first + Int(upstreamList[index].nodeCount))]
            // Every node resolved (or init threw above), so config nodes line up with `members`.
            let identities = config.upstreams[index].nodes.map {
                Array($0.address.utf8).withUnsafeBytes { ConsistentHashRing.hash($0) }
            }
            let ring = ConsistentHashRing(weights: members.map { Int($0.weight) }, identities: identities)
            upstreamList[index].ring = Int32(ringList.count)
            ringList.append(Unmanaged.passRetained(ring))
        }
        ringCount = ringList.count
        rings = .allocate(capacity: max(1, ringList.count))
        rings.initialize(from: ringList, count: ringList.count)
        routeCount = routeList.count
        routes = .allocate(capacity: max(1, routeList.count))
        routes.initialize(from: routeList, count: routeList.count)
        upstreamCount = upstreamList.count
        upstreams = .allocate(capacity: max(1, upstreamList.count))
        upstreams.initialize(from: upstreamList, count: upstreamList.count)
        nodeCount = nodeList.count
        nodes = .allocate(capacity: max(1, nodeList.count))
        nodes.initialize(from: nodeList, count: nodeList.count)
        let arenaBytes = UnsafeMutableRawPointer.allocate(byteCount: max(1, arena.count), alignment: 16)
        arena.withUnsafeBytes { raw in
            if let base = raw.baseAddress { arenaBytes.copyMemory(from: base, byteCount: raw.count) }
        }
        bytes = arenaBytes

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

    deinit {
        for index in 0..<ringCount { rings[index].release() }
        rings.deallocate()
        routes.deallocate()
        upstreams.deallocate()
        nodes.deallocate()
        bytes.deallocate()
    }

    /// Status line and headers of a mock response, up to (not including) the per-request headers.
    private static func mockResponseHead(_ mock: MockResponse) -> String {
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
