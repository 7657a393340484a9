import Glibc
import Telemetry

/// One worker's recording side: its metric shard writer and every series it needs, resolved ahead of
/// time into flat arrays, plus a fixed-size cache for `gateway_http_requests_total{route,method,code}`
/// whose status codes are only known per response.
///
/// Created on the worker's thread and used only there (the writer must stay on its thread).
package final class WorkerTelemetry: @unchecked Sendable {
    package let enabled: Bool
    package let metrics: GatewayMetrics
    let writer: MetricWriter
    let routeCount: Int
    let requestDuration: UnsafeMutablePointer<HistogramHandle>
    let overheadDuration: UnsafeMutablePointer<HistogramHandle>
    let requestSize: UnsafeMutablePointer<HistogramHandle>
    let responseSize: UnsafeMutablePointer<HistogramHandle>
    /// Per route; only valid where `hasUpstream[route]`.
    let upstreamDuration: UnsafeMutablePointer<HistogramHandle>
    let hasUpstream: UnsafeMutablePointer<Bool>
    let timeouts: UnsafeMutablePointer<CounterHandle>
    let rejected: UnsafeMutablePointer<CounterHandle>
    /// Per node: opened, reused, failed.
    let upstreamEvents: UnsafeMutablePointer<CounterHandle>
    let poolIdle: UnsafeMutablePointer<GaugeHandle>
    /// Per upstream: retries by reason (connect_failure, timeout, status), and budget refusals.
    let retries: UnsafeMutablePointer<CounterHandle>
    let retryBudgetExhausted: UnsafeMutablePointer<CounterHandle>
    /// Per upstream: requests sent in panic mode.
    let panicRequests: UnsafeMutablePointer<CounterHandle>
    let connections: GaugeHandle
    let connectionsTotal: CounterHandle

    // Open-addressing cache of request counter handles keyed by route, method and status.
    private static let cacheSize = 4096
    private let cacheKeys: UnsafeMutablePointer<UInt64>
    private let cacheHandles: UnsafeMutablePointer<CounterHandle>
    private var cacheCount = 0

    package init(metrics: GatewayMetrics, plan: ProxyPlan, worker: Int) throws(TelemetryError) {
        self.metrics = metrics
        enabled = metrics.settings.enabled
        writer = try metrics.registry.registerWriter()
        routeCount = plan.routeCount
        let routes = plan.routeCount + 1
        requestDuration = .allocate(capacity: routes)
        overheadDuration = .allocate(capacity: routes)
        requestSize = .allocate(capacity: routes)
        responseSize = .allocate(capacity: routes)
        upstreamDuration = .allocate(capacity: routes)
        hasUpstream = .allocate(capacity: routes)
        for route in 0..<routes {
            let label = metrics.routeLabels[route]
            (requestDuration + route).initialize(to: try metrics.requestDuration.handle([label]))
            (overheadDuration + route).initialize(to: try metrics.overheadDuration.handle([label]))
            (requestSize + route).initialize(to: try metrics.requestSize.handle([label]))
            (responseSize + route).initialize(to: try metrics.responseSize.handle([label]))
            let upstream = route < plan.routeCount ? Int(plan.routes[route].upstream) : -1
            (hasUpstream + route).initialize(to: upstream >= 0)
            let upstreamLabel = upstream >= 0 ? metrics.upstreamLabels[upstream] : ""
            // Routes without an upstream share one series that is never observed.
            (upstreamDuration + route).initialize(
                to: try metrics.upstreamDuration.handle([label, upstream >= 0 ? upstreamLabel : "-"])
            )
        }
        timeouts = .allocate(capacity: TimeoutKind.allCases.count)
        for kind in TimeoutKind.allCases {
            (timeouts + kind.rawValue).initialize(to: try metrics.timeouts.handle([kind.label]))
        }
        let reasons = HTTPParseError.Reason.allCases
        rejected = .allocate(capacity: reasons.count)
        for reason in reasons {
            (rejected + Int(reason.rawValue)).initialize(to: try metrics.rejected.handle(["\(reason.name)"]))
        }
        upstreamEvents = .allocate(capacity: max(1, plan.nodeCount * 3))
        for node in 0..<plan.nodeCount {
            let upstream = metrics.upstreamLabels[Int(plan.nodes[node].upstream)]
            let address = String(
                decoding: plan.arena(plan.nodes[node].hostOffset, plan.nodes[node].hostLength),
                as: UTF8.self
            )
            for event in UpstreamConnectionEvent.allCases {
                let labels =
                    metrics.settings.nodeLabels ? [upstream, address, event.label] : [upstream, event.label]
                let count = UpstreamConnectionEvent.allCases.count
                (upstreamEvents + node * count + event.rawValue).initialize(
                    to: try metrics.upstreamConnections.handle(labels)
                )
            }
        }
        poolIdle = .allocate(capacity: max(1, plan.upstreamCount))
        for upstream in 0..<plan.upstreamCount {
            (poolIdle + upstream).initialize(to: try metrics.poolIdle.handle([metrics.upstreamLabels[upstream]]))
        }
        retries = .allocate(capacity: max(1, plan.upstreamCount * 3))
        retryBudgetExhausted = .allocate(capacity: max(1, plan.upstreamCount))
        panicRequests = .allocate(capacity: max(1, plan.upstreamCount))
        for upstream in 0..<plan.upstreamCount {
            let label = metrics.upstreamLabels[upstream]
            for (index, reason) in ["connect_failure", "timeout", "status"].enumerated() {
                (retries + upstream * 3 + index).initialize(to: try metrics.retries.handle([label, reason]))
            }
            (retryBudgetExhausted + upstream).initialize(to: try metrics.retryBudgetExhausted.handle([label]))
            (panicRequests + upstream).initialize(to: try metrics.panicRequests.handle([label]))
        }
        connections = try metrics.downstreamConnections.handle(["\(worker)"])
        connectionsTotal = try metrics.downstreamConnectionsTotal.handle(["\(worker)"])
        cacheKeys = .allocate(capacity: Self.cacheSize)
        cacheKeys.initialize(repeating: 0, count: Self.cacheSize)
        cacheHandles = .allocate(capacity: Self.cacheSize)
    }

    /// Runs when the worker that owns this goes away (its thread has stopped recording): frees the handle
    /// arrays and gives the writer's shard back, so a later worker (after a restart in the same process)
    /// can take it. What this worker recorded stays counted in the shard. The handles are plain values, so
    /// nothing needs deinitializing.
    deinit {
        for pointer in [
            UnsafeMutableRawPointer(requestDuration), UnsafeMutableRawPointer(overheadDuration),
            UnsafeMutableRawPointer(requestSize), UnsafeMutableRawPointer(responseSize),
            UnsafeMutableRawPointer(upstreamDuration), UnsafeMutableRawPointer(hasUpstream),
            UnsafeMutableRawPointer(timeouts), UnsafeMutableRawPointer(rejected),
            UnsafeMutableRawPointer(upstreamEvents), UnsafeMutableRawPointer(poolIdle),
            UnsafeMutableRawPointer(retries), UnsafeMutableRawPointer(retryBudgetExhausted),
            UnsafeMutableRawPointer(panicRequests), UnsafeMutableRawPointer(cacheKeys),
            UnsafeMutableRawPointer(cacheHandles),
        ] {
            pointer.deallocate()
        }
        metrics.registry.releaseShard(of: writer)
    }

    // MARK: - Recording (worker thread only; no locks, no allocation in steady state)

    /// Records one finished request. `route` is -1 when none matched; durations are nanoseconds;
    /// `upstreamNanoseconds` < 0 when no upstream answered.
    @inline(__always)
    package func recordRequest(
        route: Int,
        method: HTTPMethod,
        status: Int,
        totalNanoseconds: UInt64,
        upstreamNanoseconds: Int64,
        bytesIn: Int64,
        bytesOut: Int64,
        requestID: UnsafeRawBufferPointer
    ) {
        guard enabled else { return }
        let index = route < 0 ? routeCount : route
        requestCounter(route: index, method: method, status: status).increment(on: writer)
        let total = Double(totalNanoseconds) / 1e9
        // One label for both duration families: the id is copied once per request, not per observation.
        let exemplar = ExemplarLabel(bytes: requestID)
        requestDuration[index].observe(total, exemplar: exemplar, on: writer)
        if upstreamNanoseconds >= 0 && hasUpstream[index] {
            let upstream = Double(upstreamNanoseconds) / 1e9
            upstreamDuration[index].observe(upstream, exemplar: exemplar, on: writer)
            overheadDuration[index].observe(max(0, total - upstream), on: writer)
        } else {
            overheadDuration[index].observe(total, on: writer)
        }
        requestSize[index].observe(Double(bytesIn), on: writer)
        responseSize[index].observe(Double(bytesOut), on: writer)
    }

    /// A failed attempt was sent to another node.
    @inline(__always)
    package func recordRetry(upstream: Int, condition: ProxyPlan.RetryConditions) {
        guard enabled else { return }
        let reason: Int
        switch condition {
        case .connectFailure: reason = 0
        case .timeout: reason = 1
        default: reason = 2
        }
        retries[upstream * 3 + reason].increment(on: writer)
    }

    /// A retry was refused because the worker's retry budget was spent.
    @inline(__always)
    package func recordRetryBudgetExhausted(upstream: Int) {
        guard enabled else { return }
        retryBudgetExhausted[upstream].increment(on: writer)
    }

    /// A node was picked while the upstream was in panic.
    @inline(__always)
    package func recordPanicRequest(upstream: Int) {
        guard enabled else { return }
        panicRequests[upstream].increment(on: writer)
    }

    @inline(__always)
    package func recordTimeout(_ kind: TimeoutKind) {
        guard enabled else { return }
        timeouts[kind.rawValue].increment(on: writer)
    }

    @inline(__always)
    package func recordRejected(_ reason: HTTPParseError.Reason) {
        guard enabled else { return }
        rejected[Int(reason.rawValue)].increment(on: writer)
    }

    /// An upstream connection was opened, reused from the pool, or failed to connect.
    @inline(__always)
    package func recordUpstreamConnection(node: Int, event: UpstreamConnectionEvent) {
        guard enabled else { return }
        upstreamEvents[node * UpstreamConnectionEvent.allCases.count + event.rawValue].increment(on: writer)
    }

    @inline(__always)
    package func recordPoolIdle(upstream: Int, delta: Double) {
        guard enabled else { return }
        poolIdle[upstream].add(delta, on: writer)
    }

    @inline(__always)
    package func recordConnection(opened: Bool) {
        guard enabled else { return }
        connections.add(opened ? 1 : -1, on: writer)
        if opened { connectionsTotal.increment(on: writer) }
    }

    /// The counter for (route, method, status), resolved once per worker and then cached.
    @inline(__always)
    private func requestCounter(route: Int, method: HTTPMethod, status: Int) -> CounterHandle {
        let key = (UInt64(route) << 24 | UInt64(method.rawValue) << 16 | UInt64(UInt16(clamping: status))) &+ 1
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 52) & (Self.cacheSize - 1)
        while true {
            let stored = cacheKeys[slot]
            if stored == key { return cacheHandles[slot] }
            if stored == 0 { break }
            slot = (slot + 1) & (Self.cacheSize - 1)
        }
        return resolveRequestCounter(key: key, slot: slot, route: route, method: method, status: status)
    }

    /// First time this worker sees a (route, method, status): resolve the series (allocates once).
    @inline(never)
    private func resolveRequestCounter(
        key: UInt64,
        slot: Int,
        route: Int,
        method: HTTPMethod,
        status: Int
    )
        -> CounterHandle
    {
        let labels = [metrics.routeLabels[route], "\(method.name)", String(status)]
        let handle: CounterHandle
        do {
            handle = try metrics.requests.handle(labels)
        } catch {
            // Only on a label problem, which cannot happen with these values; count under the unmatched route.
            handle = try! metrics.requests.handle([GatewayMetrics.unmatchedRoute, "OTHER", "0"])
        }
        // Keep the table at most 3/4 full so probes stay short; beyond that, resolve each time.
        if cacheCount < Self.cacheSize * 3 / 4 {
            cacheKeys[slot] = key
            (cacheHandles + slot).initialize(to: handle)
            cacheCount += 1
        }
        return handle
    }
}
