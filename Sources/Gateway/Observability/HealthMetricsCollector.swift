import Telemetry

/// Publishes upstream node health and circuit state as metrics, read from the health controller's
/// snapshot on the scraping thread.
enum HealthMetricsCollector {
    static func install(registry: MetricRegistry, controller: HealthController) throws {
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
}
