/// The flat tables of a ``ProxyPlan``, built from a configuration placed at stable indices, plus
/// the retired entries carried over from the previous plan.
///
/// Memory is handed to the plan, which frees it.
struct PlanTables {
    var routes: UnsafeMutablePointer<ProxyPlan.Route>
    var upstreams: UnsafeMutablePointer<ProxyPlan.Upstream>
    var nodes: UnsafeMutablePointer<ProxyPlan.Node>
    var members: UnsafeMutablePointer<Int32>
    var memberCount = 0
    var rings: UnsafeMutablePointer<Unmanaged<ConsistentHashRing>>
    var ringCount = 0
    var bytes: UnsafeMutableRawPointer
    var routeIDs: [String]
    var upstreamIDs: [String]
    var upstreamConfigs: [UpstreamConfig]
    var nodeAddresses: [String]

    private var arena: [UInt8] = []

    init(
        config: GatewayConfig,
        placement: PlanLayout.Placement,
        layout: PlanLayout,
        previous: ProxyPlan?
    ) throws(ConfigError) {
        let routeCount = Int(layout.routes.highWater)
        let upstreamCount = Int(layout.upstreams.highWater)
        let nodeCount = Int(layout.nodes.highWater)
        routeIDs = Array(repeating: "", count: routeCount)
        upstreamIDs = Array(repeating: "", count: upstreamCount)
        upstreamConfigs = Array(repeating: UpstreamConfig(id: ""), count: upstreamCount)
        nodeAddresses = Array(repeating: "", count: nodeCount)
        var routeList = Array(repeating: Self.emptyRoute, count: routeCount)
        var upstreamList = Array(repeating: Self.emptyUpstream, count: upstreamCount)
        var nodeList = Array(repeating: Self.emptyNode, count: nodeCount)
        var memberList: [Int32] = []
        routes = .allocate(capacity: 1)
        upstreams = .allocate(capacity: 1)
        nodes = .allocate(capacity: 1)
        members = .allocate(capacity: 1)
        rings = .allocate(capacity: 1)
        bytes = .allocate(byteCount: 1, alignment: 16)

        var issues: [ConfigIssue] = []
        var liveNodes = Set<Int32>()
        for (position, upstream) in config.upstreams.enumerated() {
            let index = Int(placement.upstreams.indices[position])
            let first = memberList.count
            let start = placement.nodeStart[position]
            for (offset, node) in upstream.nodes.enumerated() {
                let nodeIndex = placement.nodes.indices[start + offset]
                guard let address = SocketAddress.resolve(host: node.host, port: node.port) else {
                    issues.append(
                        ConfigIssue(
                            path: "upstreams[\(position)].nodes.\(node.address)",
                            line: nil,
                            reason: "cannot resolve host '\(node.host)'"
                        )
                    )
                    continue
                }
                let host = store(Array(node.address.utf8))
                liveNodes.insert(nodeIndex)
                nodeList[Int(nodeIndex)] = ProxyPlan.Node(
                    address: address,
                    weight: Int32(clamping: node.weight),
                    upstream: Int32(index),
                    hostOffset: host.0,
                    hostLength: host.1,
                    member: Int32(memberList.count)
                )
                nodeAddresses[Int(nodeIndex)] = node.address
                memberList.append(nodeIndex)
            }
            upstreamIDs[index] = upstream.id
            upstreamConfigs[index] = upstream
            upstreamList[index] = compile(upstream, firstMember: first, memberCount: memberList.count - first)
        }
        if !issues.isEmpty {
            freeAll()
            throw ConfigError(code: .invalid, issues: issues, sourceName: config.sourceName)
        }

        let upstreamIndex = Dictionary(
            config.upstreams.enumerated().map { ($0.element.id, placement.upstreams.indices[$0.offset]) },
            uniquingKeysWith: { first, _ in first }
        )
        for (position, route) in config.routes.filter(\.enabled).enumerated() {
            let index = Int(placement.routes.indices[position])
            var entry = Self.emptyRoute
            entry.live = true
            entry.maxBodyBytes = route.clientMaxBodySize ?? config.limits.clientMaxBodySize
            if let mock = route.mocking {
                (entry.mockHeadOffset, entry.mockHeadLength) = store(Array(ProxyPlan.mockResponseHead(mock).utf8))
                (entry.mockBodyOffset, entry.mockBodyLength) = store(Array(mock.body.utf8))
                entry.mockStatus = Int16(clamping: mock.status)
            } else if let id = route.upstreamID, let upstream = upstreamIndex[id] {
                entry.upstream = upstream
            }
            let upgrades = (route.enableWebSocket ? ["websocket"] : []) + route.upgradeProtocols
            if !upgrades.isEmpty {
                (entry.upgradeOffset, entry.upgradeLength) = store(Array(upgrades.joined(separator: ",").utf8))
            }
            entry.tunnelIdleTimeout = route.websocketIdleTimeout?.nanoseconds ?? 0
            routeList[index] = entry
            routeIDs[index] = route.id
        }

        // Retired entries: what the previous plan had at indices nothing live took.
        if let previous {
            let liveRoutes = Set(placement.routes.indices)
            for index in 0..<min(routeCount, previous.routeCount) where !liveRoutes.contains(Int32(index)) {
                var entry = previous.routes[index]
                (entry.mockHeadOffset, entry.mockHeadLength) = copy(
                    previous,
                    entry.mockHeadOffset,
                    entry.mockHeadLength
                )
                (entry.mockBodyOffset, entry.mockBodyLength) = copy(
                    previous,
                    entry.mockBodyOffset,
                    entry.mockBodyLength
                )
                (entry.upgradeOffset, entry.upgradeLength) = copy(previous, entry.upgradeOffset, entry.upgradeLength)
                entry.live = false
                routeList[index] = entry
                routeIDs[index] = previous.routeIDs[index]
            }
            let liveUpstreams = Set(placement.upstreams.indices)
            for index in 0..<min(upstreamCount, previous.upstreamCount) where !liveUpstreams.contains(Int32(index)) {
                var entry = previous.upstreams[index]
                (entry.hostOffset, entry.hostLength) = copy(previous, entry.hostOffset, entry.hostLength)
                (entry.nameOffset, entry.nameLength) = copy(previous, entry.nameOffset, entry.nameLength)
                (entry.hashKeyOffset, entry.hashKeyLength) = copy(previous, entry.hashKeyOffset, entry.hashKeyLength)
                entry.firstMember = Int32(memberList.count)
                entry.memberCount = 0
                entry.balancer = entry.balancer == .consistentHash ? .roundRobin : entry.balancer
                entry.ring = -1
                entry.live = false
                upstreamList[index] = entry
                upstreamIDs[index] = previous.upstreamIDs[index]
                upstreamConfigs[index] = previous.upstreamConfigs[index]
            }
            for index in 0..<min(nodeCount, previous.nodeCount) where !liveNodes.contains(Int32(index)) {
                var entry = previous.nodes[index]
                (entry.hostOffset, entry.hostLength) = copy(previous, entry.hostOffset, entry.hostLength)
                entry.member = Int32(memberList.count)
                entry.live = false
                memberList.append(Int32(index))
                nodeList[index] = entry
                nodeAddresses[index] = previous.nodeAddresses[index]
            }
        }
        // Indices never used yet (holes) still get a member position, so every node below the count has one.
        for index in nodeList.indices where nodeList[index].member < 0 {
            nodeList[index].member = Int32(memberList.count)
            memberList.append(Int32(index))
        }

        // One ring per chash upstream; a node's points depend on its address, so edits move few keys.
        var ringList: [Unmanaged<ConsistentHashRing>] = []
        for (position, upstream) in config.upstreams.enumerated() {
            let index = Int(placement.upstreams.indices[position])
            guard upstreamList[index].balancer == .consistentHash else { continue }
            let first = Int(upstreamList[index].firstMember)
            let count = Int(upstreamList[index].memberCount)
            let weights = (0..<count).map { Int(nodeList[Int(memberList[first + $0])].weight) }
            // Every node resolved (or this threw above), so config nodes line up with the members.
            let identities = upstream.nodes.map {
                Array($0.address.utf8).withUnsafeBytes { ConsistentHashRing.hash($0) }
            }
            upstreamList[index].ring = Int32(ringList.count)
            ringList.append(Unmanaged.passRetained(ConsistentHashRing(weights: weights, identities: identities)))
        }

        freeAll()
        ringCount = ringList.count
        rings = .allocate(capacity: max(1, ringList.count))
        rings.initialize(from: ringList, count: ringList.count)
        // Only the indices in use: a reload's cost follows the configuration, not the capacity.
        routes = .allocate(capacity: max(1, routeList.count))
        routes.initialize(from: routeList, count: routeList.count)
        upstreams = .allocate(capacity: max(1, upstreamList.count))
        upstreams.initialize(from: upstreamList, count: upstreamList.count)
        nodes = .allocate(capacity: max(1, nodeList.count))
        nodes.initialize(from: nodeList, count: nodeList.count)
        memberCount = memberList.count
        members = .allocate(capacity: max(1, memberList.count))
        members.initialize(from: memberList, count: memberList.count)
        let arenaBytes = UnsafeMutableRawPointer.allocate(byteCount: max(1, arena.count), alignment: 16)
        arena.withUnsafeBytes { raw in
            if let base = raw.baseAddress { arenaBytes.copyMemory(from: base, byteCount: raw.count) }
        }
        bytes = arenaBytes
    }

    private mutating func freeAll() {
        routes.deallocate()
        upstreams.deallocate()
        nodes.deallocate()
        members.deallocate()
        rings.deallocate()
        bytes.deallocate()
    }

    private mutating func store(_ data: [UInt8]) -> (Int32, Int32) {
        let offset = arena.count
        arena.append(contentsOf: data)
        return (Int32(offset), Int32(data.count))
    }

    /// Copies bytes of `previous`'s arena into this one.
    private mutating func copy(_ previous: ProxyPlan, _ offset: Int32, _ length: Int32) -> (Int32, Int32) {
        store(Array(previous.arena(offset, length)))
    }

    private mutating func compile(_ upstream: UpstreamConfig, firstMember: Int, memberCount: Int) -> ProxyPlan.Upstream
    {
        let host = store(Array((upstream.upstreamHost ?? "").utf8))
        let name = store(Array(upstream.id.utf8))
        let hashKey = store(Array(upstream.hashKey.utf8))
        return ProxyPlan.Upstream(
            firstMember: Int32(firstMember),
            memberCount: Int32(memberCount),
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
            balancer: ProxyPlan.balancer(upstream.type),
            hashOn: ProxyPlan.hashSource(upstream.hashOn),
            hashKeyOffset: hashKey.0,
            hashKeyLength: hashKey.1,
            retries: Int32(clamping: upstream.effectiveRetries),
            retryTimeout: upstream.retryTimeout?.nanoseconds ?? 0,
            retryOn: ProxyPlan.retryConditions(upstream.retryPolicy.retryOn),
            retryBudgetPercent: Int32(clamping: upstream.retryPolicy.budget.percent),
            retryBudgetMinimum: Int32(clamping: upstream.retryPolicy.budget.minRetries),
            retryBackoffBase: upstream.retryPolicy.backoff.base.nanoseconds,
            retryBackoffMax: upstream.retryPolicy.backoff.max.nanoseconds,
            classifier: NodeOutcomeClassifier(passive: upstream.checks?.passive),
            halfOpenRequests: Int32(clamping: upstream.circuitBreaker.halfOpenRequests),
            http2: upstream.scheme.isHTTP2,
            secure: upstream.scheme.isTLS
        )
    }

    static let emptyRoute = ProxyPlan.Route(
        upstream: -1,
        maxBodyBytes: 0,
        mockHeadOffset: 0,
        mockHeadLength: 0,
        mockBodyOffset: 0,
        mockBodyLength: 0,
        mockStatus: 0,
        live: false
    )

    static let emptyUpstream = ProxyPlan.Upstream(
        firstMember: 0,
        memberCount: 0,
        connectTimeout: 0,
        sendTimeout: 0,
        readTimeout: 0,
        poolSize: 0,
        poolIdleTimeout: 0,
        poolMaxRequests: 0,
        passHost: .pass,
        hostOffset: 0,
        hostLength: 0,
        live: false
    )

    static let emptyNode = ProxyPlan.Node(
        address: SocketAddress(host: "0.0.0.0", port: 0)!,
        weight: 0,
        upstream: 0,
        hostOffset: 0,
        hostLength: 0,
        member: -1,
        live: false
    )
}
