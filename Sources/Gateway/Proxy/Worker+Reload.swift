/// Taking a reloaded plan: between loop turns, so no request is half-handled while it happens.
extension Worker {
    /// Adopts the newest published plan if there is one (one acquire load when there is not), and lets
    /// go of older plans whose last request has ended.
    @inline(__always)
    func adoptPublishedPlan() {
        if planSlots.needsCollect { planSlots.collect() }
        guard let publisher, publisher.generation != plan.generation else { return }
        guard adopt(publisher.take()) else { return }
        publisher.acknowledge(worker: index, generation: plan.generation)
    }

    /// The plan the client's current request started on (the current plan between requests).
    ///
    /// Requests in flight finish on their own plan: a retry picks the upstream the route had when the
    /// request started, and body limits, timeouts and plugins stay the ones it started with.
    @inline(__always)
    func requestPlan(_ slot: Int) -> ProxyPlan {
        clients[slot].holdsPlan ? planSlots.plan(clients[slot].planSlot) : plan
    }

    /// Moves the requests holding the oldest movable plan onto the current one (indices are stable, so
    /// their route, upstream and node stay valid), freeing its slot.
    @inline(never)
    func moveRequestsOffOldestPlan() {
        guard let oldest = planSlots.oldestMovable() else { return }
        for slot in 0..<clientCapacity where clients[slot].holdsPlan && clients[slot].planSlot == oldest {
            planSlots.leave(oldest)
            clients[slot].planSlot = planSlots.enter()
        }
        planSlots.collect()
    }

    /// The plan an upstream connection works for: its client's request's, else the current one.
    @inline(__always)
    func upstreamPlan(_ slot: Int) -> ProxyPlan {
        let client = Int(upstreamConnections[slot].client)
        return client >= 0 ? requestPlan(client) : plan
    }

    /// New requests route on `next`; requests in flight keep the plan they started on (see
    /// ``PlanSlots``). Indices are stable across plans, and what was removed stays in `next` as a
    /// retired entry, so per-index state follows: balancer load and latency, metric handles (same
    /// series for what survived), log symbols. Pooled connections to nodes that left are closed; busy
    /// ones are not pooled again. Returns false when every plan slot still serves requests (the plan
    /// is taken on a later loop turn).
    @inline(never)
    func adopt(_ next: ProxyPlan) -> Bool {
        guard next.generation != plan.generation else { return true }
        if !planSlots.adopt(next) {
            // Every slot holds a plan some request still uses (long-lived requests across many reloads):
            // the requests on the oldest one move to the current plan, so reloads never stall.
            moveRequestsOffOldestPlan()
            guard planSlots.adopt(next) else { return false }
        }
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
        guard !gone.isEmpty else { return true }
        for slot in 0..<upstreamCapacity where upstreamConnections[slot].state != .closed {
            guard gone.contains(upstreamConnections[slot].node) else { continue }
            if upstreamConnections[slot].state == .pooled {
                closeUpstream(slot)
            } else {
                upstreamConnections[slot].reusable = false
            }
        }
        return true
    }
}
