import Logging

extension HealthController {
    /// Watches every node of `plan`, probing through an executor of `engine` (the workers' engine);
    /// `board` must have been made for `plan.nodeCount` nodes.
    package convenience init(
        plan: ProxyPlan,
        board: NodeHealthBoard,
        interval: Duration = .milliseconds(50),
        logger: Logger = Logger(label: "gateway.health"),
        engine: EngineKind = .epoll
    ) {
        let (upstreams, nodes) = Self.describe(plan)
        self.init(
            upstreams: upstreams,
            nodes: nodes,
            board: board,
            interval: interval,
            logger: logger,
            engine: engine
        )
    }

    /// The upstreams and nodes of `plan`, with board indices equal to the plan's node indices.
    package static func describe(_ plan: ProxyPlan) -> ([MonitoredUpstream], [MonitoredNode]) {
        var upstreams: [MonitoredUpstream] = []
        var nodes: [MonitoredNode] = []
        for (upstreamIndex, config) in plan.config.upstreams.enumerated() where upstreamIndex < plan.upstreamCount {
            upstreams.append(MonitoredUpstream(config))
            let compiled = plan.upstreams[upstreamIndex]
            for offset in 0..<Int(compiled.nodeCount) {
                let boardIndex = Int(compiled.firstNode) + offset
                let node = plan.nodes[boardIndex]
                let host = String(decoding: plan.arena(node.hostOffset, node.hostLength), as: UTF8.self)
                nodes.append(
                    MonitoredNode(
                        upstreamIndex: upstreamIndex,
                        nodeIndex: offset,
                        boardIndex: boardIndex,
                        label: offset < config.nodes.count ? config.nodes[offset].address : host,
                        address: node.address,
                        hostHeader: host
                    )
                )
            }
        }
        return (upstreams, nodes)
    }
}
