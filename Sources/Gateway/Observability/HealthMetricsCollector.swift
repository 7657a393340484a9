import Telemetry

/// Publishes upstream node health and circuit state as metrics, read from the health controller's
/// snapshot on the scraping thread.
enum HealthMetricsCollector {
    static func install(
        registry: MetricRegistry,
        controller: HealthController,
        settings: MetricsSettings,
        upstreamIDs: @escaping @Sendable () -> [String]
    ) throws {
        guard settings.enabled else { return }
        let panic = try registry.gauge(
            "gateway_upstream_panic",
            help: "1 while too few of the upstream's nodes are available and it balances over all of them.",
            labelNames: ["upstream"]
        )
        registry.addCollector {
            let panics = controller.panics()
            for (index, id) in upstreamIDs().enumerated() {
                try? panic.handle([id]).set(index < panics.count && panics[index] ? 1 : 0)
            }
        }
        guard settings.nodeLabels else {
            try installPerUpstream(registry: registry, controller: controller)
            return
        }
        let healthy = try registry.gauge(
            "gateway_upstream_node_healthy",
            help: "1 when the node passes its health checks, 0 when marked unhealthy.",
            labelNames: ["upstream", "node"]
        )
        let circuit = try registry.gauge(
            "gateway_upstream_circuit_state",
            help: "1 for the node's current circuit state (closed, open, half_open), 0 for the others.",
            labelNames: ["upstream", "node", "state"]
        )
        let transitions = try registry.counter(
            "gateway_upstream_circuit_transitions_total",
            help: "Node state transitions, by the state entered (available, unhealthy, open, half_open).",
            labelNames: ["upstream", "node", "to"]
        )
        let checks = try registry.counter(
            "gateway_upstream_health_checks_total",
            help: "Active health-check probes sent.",
            labelNames: ["upstream", "node"]
        )
        let checkFailures = try registry.counter(
            "gateway_upstream_health_check_failures_total",
            help: "Active health-check probes that failed.",
            labelNames: ["upstream", "node"]
        )
        let states = ["closed", "open", "half_open"]
        let targets = ["available", "unhealthy", "open", "half_open"]
        registry.addCollector {
            for node in controller.snapshot() {
                let labels = [node.upstreamID, node.node]
                try? healthy.handle(labels).set(node.healthy ? 1 : 0)
                for state in states {
                    try? circuit.handle(labels + [state]).set(node.circuit.rawValue == state ? 1 : 0)
                }
                for target in targets {
                    try? transitions.handle(labels + [target]).setSharedTotal(Double(node.transitions[target] ?? 0))
                }
                try? checks.handle(labels).setSharedTotal(Double(node.activeChecks))
                try? checkFailures.handle(labels).setSharedTotal(Double(node.activeCheckFailures))
            }
        }
    }

    /// Without node labels (`metrics.node_labels: false`): how many nodes of each upstream can take
    /// traffic, and transitions summed per upstream, so node-address churn creates no series.
    private static func installPerUpstream(registry: MetricRegistry, controller: HealthController) throws {
        let available = try registry.gauge(
            "gateway_upstream_available_nodes",
            help: "Nodes of the upstream that are healthy with a closed circuit.",
            labelNames: ["upstream"]
        )
        let transitions = try registry.counter(
            "gateway_upstream_circuit_transitions_total",
            help: "Node state transitions, by the state entered (available, unhealthy, open, half_open).",
            labelNames: ["upstream", "to"]
        )
        let targets = ["available", "unhealthy", "open", "half_open"]
        registry.addCollector {
            var counts: [String: Int] = [:]
            var totals: [String: [String: UInt64]] = [:]
            for node in controller.snapshot() {
                counts[node.upstreamID, default: 0] += node.availability == .available ? 1 : 0
                for target in targets {
                    totals[node.upstreamID, default: [:]][target, default: 0] += node.transitions[target] ?? 0
                }
            }
            for (upstream, count) in counts { try? available.handle([upstream]).set(Double(count)) }
            for (upstream, byTarget) in totals {
                for (target, total) in byTarget {
                    try? transitions.handle([upstream, target]).setSharedTotal(Double(total))
                }
            }
        }
    }
}
