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

    /// Moves the controller to reloaded `plan`: nodes whose index is new start afresh.
    package func adopt(plan: ProxyPlan) {
        let (upstreams, nodes) = Self.describe(plan)
        adopt(upstreams: upstreams, nodes: nodes, fresh: Set(plan.placement.nodes.fresh.map(Int.init)))
    }

    /// The live upstreams and nodes of `plan`. Upstreams are listed in config order (their
    /// ``MonitoredNode/upstreamIndex`` is that position); board indices are the plan's node indices.
    package static func describe(_ plan: ProxyPlan) -> ([MonitoredUpstream], [MonitoredNode]) {
        var upstreams: [MonitoredUpstream] = []
        var nodes: [MonitoredNode] = []
        for (position, config) in plan.config.upstreams.enumerated() {
            let index = Int(plan.placement.upstreams.indices[position])
            var monitored = MonitoredUpstream(config)
            monitored.boardIndex = index
            do throws(TLSError) {
                monitored.probeTLS = try ActiveProbeTLS.context(
                    for: config,
                    upstreamContext: index < plan.upstreamTLS.count ? plan.upstreamTLS[index] : nil,
                    settings: plan.config.tls
                )
            } catch {
                // Only when OpenSSL cannot allocate (settings were checked on load): the probes then fail.
                Logger(label: "gateway.health").error(
                    "no TLS context for https health checks: \(error.message)",
                    metadata: ["upstream": "\(config.id)"]
                )
            }
            upstreams.append(monitored)
            let compiled = plan.upstreams[index]
            for offset in 0..<Int(compiled.memberCount) {
                let boardIndex = plan.node(upstream: index, offset: offset)
                let node = plan.nodes[boardIndex]
                let host = String(decoding: plan.arena(node.hostOffset, node.hostLength), as: UTF8.self)
                nodes.append(
                    MonitoredNode(
                        upstreamIndex: position,
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
