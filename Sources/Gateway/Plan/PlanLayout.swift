/// Where each route, upstream and node of a configuration sits in the plan's tables: stable indices
/// (``StableIndexTable``) for all three, with capacities fixed for the life of the process.
package struct PlanLayout: Sendable {
    package var routes: StableIndexTable
    package var upstreams: StableIndexTable
    package var nodes: StableIndexTable

    /// How long a retired index waits before it is given to another key: longer than any request
    /// that could still be using it.
    package static let quarantine: UInt64 = 300_000_000_000

    /// Tables with room for `config` to grow: at least 4,096 routes, 1,024 upstreams and 4,096 nodes,
    /// and twice what `config` has.
    package init(sizedFor config: GatewayConfig) {
        let nodeCount = config.upstreams.reduce(0) { $0 + $1.nodes.count }
        routes = StableIndexTable(capacity: max(4096, 2 * config.routes.count))
        upstreams = StableIndexTable(capacity: max(1024, 2 * config.upstreams.count))
        nodes = StableIndexTable(capacity: max(4096, 2 * nodeCount))
    }

    /// The indices of one configuration.
    package struct Placement: Sendable {
        /// Per enabled route, in config order.
        package var routes = StableIndexTable.Assignment()
        /// Per upstream, in config order.
        package var upstreams = StableIndexTable.Assignment()
        /// All nodes, upstream by upstream in config order (see ``nodeStart``).
        package var nodes = StableIndexTable.Assignment()
        /// Where each upstream's nodes start in `nodes.indices`.
        package var nodeStart: [Int] = []
    }

    /// Places `config` (enabled routes, every upstream and node), retiring what it no longer has.
    /// Throws when the configuration needs more room than the tables were made with.
    package mutating func place(_ config: GatewayConfig, now: UInt64) throws(ConfigError) -> Placement {
        var placement = Placement()
        let routeKeys = config.routes.filter(\.enabled).map(\.id)
        let upstreamKeys = config.upstreams.map(\.id)
        var nodeKeys: [String] = []
        for upstream in config.upstreams {
            placement.nodeStart.append(nodeKeys.count)
            var seen: [String: Int] = [:]
            for node in upstream.nodes {
                // The same address twice in one upstream is two nodes.
                let occurrence = seen[node.address, default: 0]
                seen[node.address] = occurrence + 1
                nodeKeys.append("\(upstream.id)\u{0}\(node.address)\u{0}\(occurrence)")
            }
        }
        var issues: [ConfigIssue] = []
        if let routes = routes.assign(routeKeys, now: now, quarantine: Self.quarantine) {
            placement.routes = routes
        } else {
            issues.append(Self.full("routes", routeKeys.count, routes.capacity))
        }
        if let upstreams = upstreams.assign(upstreamKeys, now: now, quarantine: Self.quarantine) {
            placement.upstreams = upstreams
        } else {
            issues.append(Self.full("upstreams", upstreamKeys.count, upstreams.capacity))
        }
        if let nodes = nodes.assign(nodeKeys, now: now, quarantine: Self.quarantine) {
            placement.nodes = nodes
        } else {
            issues.append(Self.full("upstreams[].nodes", nodeKeys.count, nodes.capacity))
        }
        guard issues.isEmpty else { throw ConfigError(code: .invalid, issues: issues, sourceName: config.sourceName) }
        return placement
    }

    private static func full(_ path: String, _ count: Int, _ capacity: Int) -> ConfigIssue {
        ConfigIssue(
            path: path,
            line: nil,
            reason: "\(count) entries do not fit the \(capacity) this process was started with; restart to apply"
        )
    }
}
