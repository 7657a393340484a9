/// Taking a reloaded plan: between loop turns, so no request is half-handled while it happens.
extension Worker {
    /// Adopts the newest published plan if there is one (one acquire load when there is not).
    @inline(__always)
    func adoptPublishedPlan() {
        guard let publisher, publisher.generation != plan.generation else { return }
        adopt(publisher.take())
        publisher.acknowledge(worker: index, generation: plan.generation)
    }

    /// New requests route on `next`. Requests in flight keep their route, upstream and node: indices
    /// are stable across plans, and what was removed stays in `next` as a retired entry. Per-index
    /// state follows: balancer load and latency, metric handles (same series for what survived), log
    /// symbols. Pooled connections to nodes that left are closed; busy ones are not pooled again.
    @inline(never)
    func adopt(_ next: ProxyPlan) {
        guard next.generation != plan.generation else { return }
        heldPreviousPlan = heldPlan
        heldPlan = next
        picker.adopt(plan: next, health: health)
        plan = next
        // Labels are the plan's ids, which the config reader has validated; nothing here can fail,
        // and if it did the previous handles would keep counting.
        try? telemetry.bind(next)
        if let logger = observability.accessLogger {
            for route in 0..<next.routeCount {
                routeSymbols[route] = (try? logger.register(next.routeIDs[route])) ?? .none
            }
            for node in 0..<next.nodeCount {
                nodeSymbols[node] = (try? logger.register(next.nodeAddresses[node])) ?? .none
            }
            consumerSymbols = next.plugins.consumers.names.map { (try? logger.register($0)) ?? .none }
        }
        let gone = Set(next.placement.nodes.retired + next.placement.nodes.fresh)
        guard !gone.isEmpty else { return }
        for slot in 0..<upstreamCapacity where upstreamConnections[slot].state != .closed {
            guard gone.contains(upstreamConnections[slot].node) else { continue }
            if upstreamConnections[slot].state == .pooled {
                closeUpstream(slot)
            } else {
                upstreamConnections[slot].reusable = false
            }
        }
    }
}
