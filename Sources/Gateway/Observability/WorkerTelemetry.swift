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
    /// The unmatched route's index (after every route index the plan can have).
    let routeCount: Int
    /// Route label values by index, the unmatched route's last.
    private var routeLabels: [String] = []
    /// Consumer usernames of the current plan, for the optional `consumer` label.
    private var consumerLabels: [String] = []
    /// Whether `gateway_http_requests_total` has the `consumer` label.
    let consumerLabel: Bool
    /// Per (plugin kind, phase) duration handles when `metrics.plugin_timing` is on, else nil.
    package let pluginDurations: UnsafeMutablePointer<HistogramHandle>?
    /// Which route, node and upstream indices have handles: a retired entry keeps the handles it had
    /// (resolving them again would bring back series a reload retired).
    private var boundRoutes: Set<Int> = []
    private var boundNodes: Set<Int> = []
    private var boundUpstreams: Set<Int> = []
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
    /// `gateway_tls_handshakes_total` handles by result and protocol, resolved on first use (nil until then).
    private var tlsHandshakes: [CounterHandle?]
    let tlsHandshakeDuration: HistogramHandle
    let tlsResumptions: CounterHandle
    let http2Connections: GaugeHandle
    let http2Streams: GaugeHandle
    /// By ``HTTP2GoawayReason``; then resets received and sent.
    let http2Goaway: [CounterHandle]
    let http2ResetsReceived: CounterHandle
    let http2ResetsSent: CounterHandle
    /// Per route, resolved only for routes that allow an upgrade (`tunnelBound`): open tunnels, tunnels
    /// opened, bytes by direction (two per route), tunnel lifetimes, tunnels closed by the drain.
    let tunnelBound: UnsafeMutablePointer<Bool>
    let tunnelActive: UnsafeMutablePointer<GaugeHandle>
    let tunnelTotal: UnsafeMutablePointer<CounterHandle>
    let tunnelBytes: UnsafeMutablePointer<CounterHandle>
    let tunnelDuration: UnsafeMutablePointer<HistogramHandle>
    let tunnelDrainClosed: UnsafeMutablePointer<CounterHandle>

    // Open-addressing cache of request counter handles keyed by route, method and status.
    private static let cacheSize = 4096
    private let cacheKeys: UnsafeMutablePointer<UInt64>
    private let cacheHandles: UnsafeMutablePointer<CounterHandle>
    private var cacheCount = 0

    package init(metrics: GatewayMetrics, plan: ProxyPlan, worker: Int) throws(TelemetryError) {
        self.metrics = metrics
        enabled = metrics.settings.enabled
        writer = try metrics.registry.registerWriter()
        // Sized for the plan's capacities, so a reload only rebinds handles.
        routeCount = plan.routeCapacity
        let routes = plan.routeCapacity + 1
        requestDuration = .allocate(capacity: routes)
        overheadDuration = .allocate(capacity: routes)
        requestSize = .allocate(capacity: routes)
        responseSize = .allocate(capacity: routes)
        upstreamDuration = .allocate(capacity: routes)
        hasUpstream = .allocate(capacity: routes)
        hasUpstream.initialize(repeating: false, count: routes)
        tunnelBound = .allocate(capacity: routes)
        tunnelBound.initialize(repeating: false, count: routes)
        tunnelActive = .allocate(capacity: routes)
        tunnelTotal = .allocate(capacity: routes)
        tunnelBytes = .allocate(capacity: routes * 2)
        tunnelDuration = .allocate(capacity: routes)
        tunnelDrainClosed = .allocate(capacity: routes)
        timeouts = .allocate(capacity: TimeoutKind.allCases.count)
        for kind in TimeoutKind.allCases {
            (timeouts + kind.rawValue).initialize(to: try metrics.timeouts.handle([kind.label]))
        }
        let reasons = HTTPParseError.Reason.allCases
        rejected = .allocate(capacity: reasons.count)
        for reason in reasons {
            (rejected + Int(reason.rawValue)).initialize(to: try metrics.rejected.handle(["\(reason.name)"]))
        }
        upstreamEvents = .allocate(capacity: plan.nodeCapacity * UpstreamConnectionEvent.allCases.count)
        poolIdle = .allocate(capacity: plan.upstreamCapacity)
        retries = .allocate(capacity: plan.upstreamCapacity * 3)
        retryBudgetExhausted = .allocate(capacity: plan.upstreamCapacity)
        panicRequests = .allocate(capacity: plan.upstreamCapacity)
        connections = try metrics.downstreamConnections.handle(["\(worker)"])
        connectionsTotal = try metrics.downstreamConnectionsTotal.handle(["\(worker)"])
        tlsHandshakes = Array(
            repeating: nil,
            count: TLSHandshakeResult.allCases.count * TLSProtocolLabel.allCases.count
        )
        tlsHandshakeDuration = try metrics.tlsHandshakeDuration.handle([])
        tlsResumptions = try metrics.tlsResumptions.handle([])
        http2Connections = try metrics.http2Connections.handle([])
        http2Streams = try metrics.http2Streams.handle([])
        var goaway: [CounterHandle] = []
        for reason in HTTP2GoawayReason.allCases { goaway.append(try metrics.http2Goaway.handle([reason.label])) }
        http2Goaway = goaway
        http2ResetsReceived = try metrics.http2Resets.handle(["received"])
        http2ResetsSent = try metrics.http2Resets.handle(["sent"])
        cacheKeys = .allocate(capacity: Self.cacheSize)
        cacheKeys.initialize(repeating: 0, count: Self.cacheSize)
        cacheHandles = .allocate(capacity: Self.cacheSize)
        consumerLabel = metrics.settings.consumerLabel
        if metrics.settings.pluginTiming {
            let phases = PluginPhase.allCases
            let handles = UnsafeMutablePointer<HistogramHandle>.allocate(
                capacity: PluginRegistry.builtins.count * phases.count
            )
            for (kind, descriptor) in PluginRegistry.builtins.enumerated() {
                for phase in phases {
                    // Series only for the phases a plugin has: the others are never observed.
                    let labels = descriptor.phases.contains(phase) ? [descriptor.name, phase.name] : ["-", "-"]
                    (handles + kind * phases.count + Int(phase.rawValue)).initialize(
                        to: try metrics.pluginDuration.handle(labels)
                    )
                }
            }
            pluginDurations = handles
        } else {
            pluginDurations = nil
        }
        try bind(plan)
    }

    /// Records how long plugin kind `kind` took in `phase`.
    @inline(__always)
    package func recordPluginDuration(kind: UInt8, phase: PluginPhase, nanoseconds: UInt64) {
        guard let pluginDurations else { return }
        pluginDurations[Int(kind) * PluginPhase.allCases.count + Int(phase.rawValue)].observe(
            Double(nanoseconds) / 1e9,
            on: writer
        )
    }

    /// Resolves the handles of every route, upstream and node of `plan` (at a start or a reload,
    /// never per request). Series are found by their labels, so a route or upstream that survives a
    /// reload keeps counting into the same series; retired entries keep theirs for requests in flight.
    package func bind(_ plan: ProxyPlan) throws(TelemetryError) {
        routeLabels = plan.routeIDs + [GatewayMetrics.unmatchedRoute]
        consumerLabels = plan.plugins.consumers.names
        for route in 0...plan.routeCount {
            if route < plan.routeCount && !plan.isLive(route: route) && boundRoutes.contains(route) { continue }
            if route < plan.routeCount { boundRoutes.insert(route) }
            let index = route < plan.routeCount ? route : routeCount
            let label = route < plan.routeCount ? plan.routeIDs[route] : GatewayMetrics.unmatchedRoute
            requestDuration[index] = try metrics.requestDuration.handle([label])
            overheadDuration[index] = try metrics.overheadDuration.handle([label])
            requestSize[index] = try metrics.requestSize.handle([label])
            responseSize[index] = try metrics.responseSize.handle([label])
            let upstream = route < plan.routeCount ? Int(plan.routes[route].upstream) : -1
            hasUpstream[index] = upstream >= 0
            // Routes without an upstream share one series that is never observed.
            let upstreamLabel = upstream >= 0 ? plan.upstreamIDs[upstream] : "-"
            upstreamDuration[index] = try metrics.upstreamDuration.handle([label, upstreamLabel])
            // Tunnel series only for routes that can open one (a route that stops allowing upgrades keeps
            // its handles for tunnels still open).
            if route < plan.routeCount && plan.routes[route].upgradeLength > 0 {
                tunnelActive[index] = try metrics.websocketActive.handle([label])
                tunnelTotal[index] = try metrics.websocketTotal.handle([label])
                tunnelBytes[index * 2] = try metrics.tunnelBytes.handle([label, "client_to_upstream"])
                tunnelBytes[index * 2 + 1] = try metrics.tunnelBytes.handle([label, "upstream_to_client"])
                tunnelDuration[index] = try metrics.websocketDuration.handle([label])
                tunnelDrainClosed[index] = try metrics.websocketDrainClosed.handle([label])
                tunnelBound[index] = true
            }
        }
        let events = UpstreamConnectionEvent.allCases
        for node in 0..<plan.nodeCount {
            if !plan.isLive(node: node) && boundNodes.contains(node) { continue }
            boundNodes.insert(node)
            let upstream = plan.upstreamIDs[Int(plan.nodes[node].upstream)]
            let address = plan.nodeAddresses[node]
            for event in events {
                let labels = metrics.settings.nodeLabels ? [upstream, address, event.label] : [upstream, event.label]
                upstreamEvents[node * events.count + event.rawValue] = try metrics.upstreamConnections.handle(labels)
            }
        }
        for upstream in 0..<plan.upstreamCount {
            if !plan.isLive(upstream: upstream) && boundUpstreams.contains(upstream) { continue }
            boundUpstreams.insert(upstream)
            let label = plan.upstreamIDs[upstream]
            poolIdle[upstream] = try metrics.poolIdle.handle([label])
            for (index, reason) in ["connect_failure", "timeout", "status"].enumerated() {
                retries[upstream * 3 + index] = try metrics.retries.handle([label, reason])
            }
            retryBudgetExhausted[upstream] = try metrics.retryBudgetExhausted.handle([label])
            panicRequests[upstream] = try metrics.panicRequests.handle([label])
        }
        // A reused route index must not find the request counters of the route it had before.
        cacheKeys.update(repeating: 0, count: Self.cacheSize)
        cacheCount = 0
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
        let tunnelArrays: [UnsafeMutableRawPointer] = [
            UnsafeMutableRawPointer(tunnelBound), UnsafeMutableRawPointer(tunnelActive),
            UnsafeMutableRawPointer(tunnelTotal), UnsafeMutableRawPointer(tunnelBytes),
            UnsafeMutableRawPointer(tunnelDuration), UnsafeMutableRawPointer(tunnelDrainClosed),
        ]
        for pointer in tunnelArrays { pointer.deallocate() }
        pluginDurations?.deallocate()
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
        requestID: UnsafeRawBufferPointer,
        traceIDHigh: UInt64 = 0,
        traceIDLow: UInt64 = 0,
        consumer: Int32 = -1
    ) {
        guard enabled else { return }
        let index = route < 0 ? routeCount : route
        requestCounter(route: index, method: method, status: status, consumer: consumer).increment(on: writer)
        let total = Double(totalNanoseconds) / 1e9
        // One label for both duration families: the id is copied once per request, not per observation.
        let exemplar = ExemplarLabel(bytes: requestID, traceIDHigh: traceIDHigh, traceIDLow: traceIDLow)
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

    /// A tunnel opened on `route` (the upstream answered 101).
    @inline(__always)
    package func recordTunnelOpened(route: Int) {
        guard enabled, route >= 0, tunnelBound[route] else { return }
        tunnelActive[route].add(1, on: writer)
        tunnelTotal[route].increment(on: writer)
    }

    /// `count` bytes went through a tunnel of `route`, towards the upstream or towards the client.
    @inline(__always)
    package func recordTunnelBytes(route: Int, toUpstream: Bool, count: Int) {
        guard enabled, route >= 0, tunnelBound[route] else { return }
        tunnelBytes[route * 2 + (toUpstream ? 0 : 1)].increment(by: UInt64(count), on: writer)
    }

    /// A tunnel of `route` closed after `nanoseconds`; `drained`: the drain's end closed it.
    @inline(__always)
    package func recordTunnelClosed(route: Int, nanoseconds: UInt64, drained: Bool) {
        guard enabled, route >= 0, tunnelBound[route] else { return }
        tunnelActive[route].add(-1, on: writer)
        tunnelDuration[route].observe(Double(nanoseconds) / 1e9, on: writer)
        if drained { tunnelDrainClosed[route].increment(on: writer) }
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

    /// A TLS handshake ended with `result`; successful ones also record their duration and resumption.
    package func recordTLSHandshake(
        _ result: TLSHandshakeResult,
        protocol version: TLSProtocolLabel,
        nanoseconds: UInt64,
        resumed: Bool
    ) {
        guard enabled else { return }
        let index = result.rawValue * TLSProtocolLabel.allCases.count + version.rawValue
        if tlsHandshakes[index] == nil {
            // First of its kind on this worker: resolving allocates, once.
            tlsHandshakes[index] = try? metrics.tlsHandshakes.handle([result.label, version.label])
        }
        tlsHandshakes[index]?.increment(on: writer)
        guard result == .success else { return }
        tlsHandshakeDuration.observe(Double(nanoseconds) / 1e9, on: writer)
        if resumed { tlsResumptions.increment(on: writer) }
    }

    package func recordHTTP2Connection(opened: Bool) {
        guard enabled else { return }
        http2Connections.add(opened ? 1 : -1, on: writer)
    }

    @inline(__always)
    package func recordHTTP2Stream(opened: Bool) {
        guard enabled else { return }
        http2Streams.add(opened ? 1 : -1, on: writer)
    }

    package func recordHTTP2Goaway(_ reason: HTTP2GoawayReason) {
        guard enabled else { return }
        http2Goaway[Int(reason.rawValue)].increment(on: writer)
    }

    package func recordHTTP2Reset(sent: Bool) {
        guard enabled else { return }
        (sent ? http2ResetsSent : http2ResetsReceived).increment(on: writer)
    }

    @inline(__always)
    package func recordConnection(opened: Bool) {
        guard enabled else { return }
        connections.add(opened ? 1 : -1, on: writer)
        if opened { connectionsTotal.increment(on: writer) }
    }

    /// Counts a response of a `grpc`/`grpcs` upstream by its `grpc-status` (0...16; larger: "unknown").
    @inline(__always)
    package func recordGRPC(route: Int, status: Int) {
        guard enabled else { return }
        let index = route < 0 ? routeCount : route
        let key = (1 << 61 | UInt64(index) << 24 | UInt64(UInt16(clamping: status))) &+ 1
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 52) & (Self.cacheSize - 1)
        while true {
            let stored = cacheKeys[slot]
            if stored == key {
                cacheHandles[slot].increment(on: writer)
                return
            }
            if stored == 0 { break }
            slot = (slot + 1) & (Self.cacheSize - 1)
        }
        resolveGRPC(key: key, slot: slot, route: index, status: status).increment(on: writer)
    }

    /// First time this worker sees a (route, grpc status): resolve the series (allocates once).
    @inline(never)
    private func resolveGRPC(key: UInt64, slot: Int, route: Int, status: Int) -> CounterHandle {
        let label = route < routeLabels.count - 1 ? routeLabels[route] : GatewayMetrics.unmatchedRoute
        let code = status <= 16 ? String(status) : "unknown"
        let handle: CounterHandle
        do {
            handle = try metrics.grpcRequests.handle([label, code])
        } catch {
            handle = try! metrics.grpcRequests.handle([GatewayMetrics.unmatchedRoute, "unknown"])
        }
        if cacheCount < Self.cacheSize * 3 / 4 {
            cacheKeys[slot] = key
            (cacheHandles + slot).initialize(to: handle)
            cacheCount += 1
        }
        return handle
    }

    /// Counts a request plugin kind `plugin` (its ``PluginRegistry`` position) ended with `status`.
    @inline(__always)
    package func recordPluginRejection(route: Int, plugin: Int, status: Int) {
        guard enabled else { return }
        let index = route < 0 ? routeCount : route
        let key =
            (1 << 62 | UInt64(index) << 24 | UInt64(UInt8(truncatingIfNeeded: plugin)) << 16
                | UInt64(UInt16(clamping: status))) &+ 1
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 52) & (Self.cacheSize - 1)
        while true {
            let stored = cacheKeys[slot]
            if stored == key {
                cacheHandles[slot].increment(on: writer)
                return
            }
            if stored == 0 { break }
            slot = (slot + 1) & (Self.cacheSize - 1)
        }
        resolvePluginRejection(key: key, slot: slot, route: index, plugin: plugin, status: status).increment(on: writer)
    }

    /// First time this worker sees a (route, plugin, status): resolve the series (allocates once).
    @inline(never)
    private func resolvePluginRejection(key: UInt64, slot: Int, route: Int, plugin: Int, status: Int) -> CounterHandle {
        let label = route < routeLabels.count - 1 ? routeLabels[route] : GatewayMetrics.unmatchedRoute
        let name = plugin < PluginRegistry.builtins.count ? PluginRegistry.builtins[plugin].name : "unknown"
        let handle: CounterHandle
        do {
            handle = try metrics.pluginRejections.handle([label, name, String(status)])
        } catch {
            handle = try! metrics.pluginRejections.handle([GatewayMetrics.unmatchedRoute, name, "0"])
        }
        if cacheCount < Self.cacheSize * 3 / 4 {
            cacheKeys[slot] = key
            (cacheHandles + slot).initialize(to: handle)
            cacheCount += 1
        }
        return handle
    }

    /// The counter for (route, method, status), resolved once per worker and then cached.
    @inline(__always)
    private func requestCounter(route: Int, method: HTTPMethod, status: Int, consumer: Int32) -> CounterHandle {
        // The consumer is part of the key only with the label: its value, the overflow, or none.
        let consumerKey: UInt64 =
            consumerLabel ? UInt64(min(Int(consumer) + 1, MetricsSettings.consumerLabelLimit + 1)) << 40 : 0
        let key =
            (consumerKey | UInt64(route) << 24 | UInt64(method.rawValue) << 16 | UInt64(UInt16(clamping: status))) &+ 1
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 52) & (Self.cacheSize - 1)
        while true {
            let stored = cacheKeys[slot]
            if stored == key { return cacheHandles[slot] }
            if stored == 0 { break }
            slot = (slot + 1) & (Self.cacheSize - 1)
        }
        return resolveRequestCounter(
            key: key,
            slot: slot,
            route: route,
            method: method,
            status: status,
            consumer: consumer
        )
    }

    /// First time this worker sees a (route, method, status): resolve the series (allocates once).
    @inline(never)
    private func resolveRequestCounter(
        key: UInt64,
        slot: Int,
        route: Int,
        method: HTTPMethod,
        status: Int,
        consumer: Int32
    )
        -> CounterHandle
    {
        var labels = [
            route < routeLabels.count - 1 ? routeLabels[route] : GatewayMetrics.unmatchedRoute, "\(method.name)",
            String(status),
        ]
        if consumerLabel {
            if consumer < 0 || Int(consumer) >= consumerLabels.count {
                labels.append("")
            } else if Int(consumer) < MetricsSettings.consumerLabelLimit {
                labels.append(consumerLabels[Int(consumer)])
            } else {
                labels.append("__other__")
            }
        }
        let handle: CounterHandle
        do {
            handle = try metrics.requests.handle(labels)
        } catch {
            // Only on a label problem, which cannot happen with these values; count under the unmatched route.
            handle = try! metrics.requests.handle(
                [GatewayMetrics.unmatchedRoute, "OTHER", "0"] + (consumerLabel ? [""] : [])
            )
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
