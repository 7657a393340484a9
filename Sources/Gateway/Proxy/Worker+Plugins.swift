import AccessLog
import CLiburing
import Glibc

/// Running plugins for a client's request: `rewrite` and `access` before the upstream (with a stop
/// for a plugin's delay), `header_filter` before any response head, `log` when the request ends.
///
/// Order, as APISIX runs them: the global rules' `rewrite` and `access`, then the route's `rewrite`
/// (authentication identifies the consumer there), the consumer's own `rewrite` plugins, then
/// `access` over the route's plugins merged with the consumer's (the consumer's settings of a plugin
/// replace the route's). `header_filter` and `log` run the global rules' plugins, then the merged
/// list.
extension Worker {
    /// How a request's `rewrite`/`access` walk ended.
    enum PluginWalk {
        /// Every plugin let it through: go on to the upstream (or the mock).
        case proceed
        /// A plugin answered it (rejected or responded); the response is on its way.
        case ended
        /// A plugin delayed it; ``resumeDelayedRequest(_:)`` goes on when the timer fires.
        case delayed
    }

    /// The stages of the `rewrite`/`access` walk, in order.
    private enum Stage: UInt8 {
        case globalRewrite, globalAccess, routeRewrite, consumerRewrite, access, done
    }

    /// Runs the request's `rewrite` and `access` plugins, from the start or (`continuing`) from where
    /// a delay stopped them.
    func runRequestPlugins(
        _ slot: Int,
        route: Int,
        head: HTTPRequestHead,
        source: UnsafeRawBufferPointer,
        continuing: Bool
    ) -> PluginWalk {
        // The plugins of the plan the request started on, also when it resumes after a reload.
        unowned(unsafe) let requestPlan = requestPlan(slot)
        let plugins = requestPlan.plugins
        let state = pluginStates + slot
        pluginRequest.begin(
            state,
            source: source,
            head: head,
            consumers: plugins.consumers,
            now: now,
            unixTime: Int64(gw_realtime_ns() / 1_000_000_000),
            route: Int32(route),
            peer: peerAddresses[slot],
            requestID: requestID(slot),
            generation: requestPlan.generation,
            continuing: continuing
        )
        // Per request: the worker's one PluginRequest served another connection just before.
        redis.client = Int32(slot)
        redis.clientGeneration = clients[slot].generation
        pluginRequest.isTLS = isSecure(slot)
        pluginRequest.clientSubject = tlsStreams[tlsSlot(slot)].subject
        let global = plugins.global
        let routeChain = route >= 0 ? plugins.chain(route: route)?.takeUnretainedValue() : nil
        var stage = continuing ? Stage(rawValue: state.pointee.resumeStage) ?? .done : .globalRewrite
        var position = continuing ? Int(state.pointee.resumeIndex) : 0
        while stage != .done {
            var verdict = PluginVerdict.proceed
            var kind: UInt8 = 0
            switch stage {
            case .globalRewrite: walk(global, .rewrite, &position, &verdict, &kind)
            case .globalAccess: walk(global, .access, &position, &verdict, &kind)
            case .routeRewrite: walk(routeChain, .rewrite, &position, &verdict, &kind)
            case .consumerRewrite: walk(consumerChain(state, requestPlan), .rewrite, &position, &verdict, &kind)
            case .access:
                walkMerged(routeChain, consumerChain(state, requestPlan), .access, &position, &verdict, &kind)
            case .done: break
            }
            if state.pointee.editOverflow {
                respondWithError(slot, status: 500, message: "plugins asked for more header changes than fit")
                return .ended
            }
            switch verdict {
            case .proceed:
                stage = Stage(rawValue: stage.rawValue + 1) ?? .done
                position = 0
            case .reject(let status, let message):
                state.pointee.rejectedBy = Int16(kind)
                telemetry.recordPluginRejection(route: route, plugin: Int(kind), status: status)
                adoptClientAddress(slot)
                respondWithPluginRejection(slot, status: status, message: message)
                return .ended
            case .respond(let status):
                adoptClientAddress(slot)
                respondWithPluginAnswer(slot, status: status)
                return .ended
            case .delay(let nanoseconds):
                state.pointee.resumeStage = stage.rawValue
                state.pointee.resumeIndex = UInt16(position + 1)
                setDeadline(client: slot, .pluginDelay, after: nanoseconds)
                return .delayed
            case .awaitRedis:
                // The same plugin runs again with the answer (or the failure, at the deadline).
                state.pointee.resumeStage = stage.rawValue
                state.pointee.resumeIndex = UInt16(position)
                setDeadline(client: slot, .backendWait, after: redis.lastTimeout)
                return .delayed
            }
        }
        adoptClientAddress(slot)
        return .proceed
    }

    /// A delayed request's timer fired: parse its head again (it is still the client's input) and go
    /// on with the plugin after the one that delayed it.
    func resumeDelayedRequest(_ slot: Int) {
        let source = clientInput(slot)
        guard case .complete(let head) = HTTPParser.parseRequestHead(source, headers: headers, limits: plan.httpLimits)
        else {
            // The head parsed before the delay and nothing was read since; this cannot happen.
            closeClient(slot)
            return
        }
        continueRequest(slot, head, source: source, route: Int(clients[slot].route), continuing: true)
    }

    /// Runs `header_filter` before a response head is written (`status` is what will be sent).
    @inline(__always)
    func runHeaderFilter(_ slot: Int, status: Int) {
        let state = pluginStates + slot
        guard state.pointee.active else { return }
        runResponsePhase(slot, .headerFilter, status: status)
    }

    /// Runs `log` once the request is over, then frees what the plugins held for it.
    @inline(__always)
    func finishRequestPlugins(_ slot: Int, status: Int) {
        let state = pluginStates + slot
        guard state.pointee.active else { return }
        runResponsePhase(slot, .log, status: status)
        if state.pointee.addressChanged {
            clientAddresses[slot] = peerAddresses[slot]
            writeClientAddressText(slot)
        }
        pluginRequest.finish(state)
    }

    /// The response headers and status plugins set for the client's current request.
    @inline(__always)
    func pluginEdits(_ slot: Int) -> PluginEdits {
        let state = pluginStates + slot
        guard state.pointee.active, state.pointee.editBlock >= 0 else { return .none }
        return PluginRequest.edits(state.pointee, pool: pluginRequest.editPool)
    }

    /// The status a `header_filter` plugin set, or 0.
    @inline(__always)
    func pluginStatusOverride(_ slot: Int) -> Int {
        let state = pluginStates + slot
        return state.pointee.active ? Int(state.pointee.statusOverride) : 0
    }

    // MARK: - Walking

    private func runResponsePhase(_ slot: Int, _ phase: PluginPhase, status: Int) {
        let state = pluginStates + slot
        unowned(unsafe) let requestPlan = requestPlan(slot)
        let plugins = requestPlan.plugins
        let route = Int(clients[slot].route)
        pluginRequest.resume(
            state,
            consumers: plugins.consumers,
            now: now,
            route: Int32(route),
            status: status,
            upstreamStatus: Int(clients[slot].upstreamStatus),
            requestID: requestID(slot)
        )
        pluginRequest.isTLS = isSecure(slot)
        var position = 0
        var verdict = PluginVerdict.proceed
        var kind: UInt8 = 0
        walk(plugins.global, phase, &position, &verdict, &kind)
        position = 0
        let routeChain = route >= 0 ? plugins.chain(route: route)?.takeUnretainedValue() : nil
        walkMerged(routeChain, consumerChain(state, requestPlan), phase, &position, &verdict, &kind)
    }

    /// The consumer's chain when the request's consumer belongs to `requestPlan`.
    @inline(__always)
    private func consumerChain(
        _ state: UnsafeMutablePointer<PluginRequestState>,
        _ requestPlan: ProxyPlan
    ) -> PluginChain? {
        let consumer = state.pointee.consumer
        guard consumer >= 0, state.pointee.generation == requestPlan.generation else { return nil }
        return requestPlan.plugins.consumers.chain(consumer)
    }

    /// Calls `phase` of `chain`'s plugins from `position` until one does not proceed (`position` is then
    /// its index and `kind` its registry kind).
    @inline(__always)
    private func walk(
        _ chain: PluginChain?,
        _ phase: PluginPhase,
        _ position: inout Int,
        _ verdict: inout PluginVerdict,
        _ kind: inout UInt8
    ) {
        guard let chain else { return }
        let count = chain.count(phase)
        let entries = chain.entries(phase)
        while position < count {
            let result = call(entries[position].plugin, phase, kind: entries[position].kind)
            if case .proceed = result {
                position &+= 1
                continue
            }
            verdict = result
            kind = entries[position].kind
            return
        }
    }

    /// Like ``walk(_:_:_:_:_:)`` over the route's and the consumer's plugins merged by priority, a
    /// consumer's plugin replacing the route's of the same kind; `position` counts merged steps.
    @inline(__always)
    private func walkMerged(
        _ routeChain: PluginChain?,
        _ consumerChain: PluginChain?,
        _ phase: PluginPhase,
        _ position: inout Int,
        _ verdict: inout PluginVerdict,
        _ kind: inout UInt8
    ) {
        guard let consumerChain else {
            walk(routeChain, phase, &position, &verdict, &kind)
            return
        }
        let routeCount = routeChain?.count(phase) ?? 0
        let routeEntries = routeChain?.entries(phase)
        let consumerCount = consumerChain.count(phase)
        let consumerEntries = consumerChain.entries(phase)
        var i = 0
        var j = 0
        var step = 0
        while true {
            while i < routeCount, consumerChain.contains(kind: routeEntries![i].kind) { i &+= 1 }
            let takeRoute: Bool
            if i < routeCount && j < consumerCount {
                takeRoute = routeEntries![i].priority >= consumerEntries[j].priority
            } else if i < routeCount {
                takeRoute = true
            } else if j < consumerCount {
                takeRoute = false
            } else {
                return
            }
            let entry = takeRoute ? routeEntries! + i : consumerEntries + j
            if takeRoute { i &+= 1 } else { j &+= 1 }
            defer { step &+= 1 }
            guard step >= position else { continue }
            let result = call(entry.pointee.plugin, phase, kind: entry.pointee.kind)
            if case .proceed = result { continue }
            position = step
            verdict = result
            kind = entry.pointee.kind
            return
        }
    }

    /// Calls one plugin's phase, timing it when `metrics.plugin_timing` is on.
    @inline(__always)
    private func call(_ plugin: any GatewayPlugin, _ phase: PluginPhase, kind: UInt8) -> PluginVerdict {
        guard telemetry.pluginDurations != nil else { return call(plugin, phase) }
        let start = gw_monotonic_ns()
        let verdict = call(plugin, phase)
        telemetry.recordPluginDuration(kind: kind, phase: phase, nanoseconds: gw_monotonic_ns() &- start)
        return verdict
    }

    @inline(__always)
    private func call(_ plugin: any GatewayPlugin, _ phase: PluginPhase) -> PluginVerdict {
        switch phase {
        case .rewrite: return plugin.rewrite(pluginRequest)
        case .access: return plugin.access(pluginRequest)
        case .headerFilter:
            plugin.headerFilter(pluginRequest)
            return .proceed
        case .log:
            plugin.log(pluginRequest)
            return .proceed
        }
    }

    // MARK: - Client address

    /// Makes the address a plugin found (`real-ip`) the request's, for X-Forwarded-For, logs and metrics.
    @inline(__always)
    private func adoptClientAddress(_ slot: Int) {
        let state = pluginStates + slot
        guard state.pointee.addressChanged else { return }
        clientAddresses[slot] = state.pointee.clientAddress
        writeClientAddressText(slot)
        if accessRing != nil { records[slot].client = state.pointee.clientAddress }
    }

    /// Writes ``clientAddresses``' entry as the text X-Forwarded-For carries.
    private func writeClientAddressText(_ slot: Int) {
        clients[slot].clientAddressLength = UInt8(clientAddresses[slot].write(into: clientAddressBytes + slot * 48))
    }

    // MARK: - Plugin answers

    /// Answers with a plugin's rejection: its status and `{"message":…,"request_id":…}`.
    func respondWithPluginRejection(_ slot: Int, status: Int, message: UnsafeRawBufferPointer) {
        runHeaderFilter(slot, status: status)
        sendGatewayWritten(slot, status: Int16(clamping: status)) { close, writer in
            GatewayResponses.writePluginRejection(
                status: status,
                message: message,
                requestID: requestID(slot),
                traceID: traceID(slot),
                versionMinor: clients[slot].versionMinor,
                close: close,
                includeBody: clients[slot].method != .head,
                edits: pluginEdits(slot),
                into: &writer
            )
        }
    }

    /// Answers with a plugin's own response (a CORS preflight): its status and headers, no body.
    func respondWithPluginAnswer(_ slot: Int, status: Int) {
        runHeaderFilter(slot, status: status)
        sendGatewayWritten(slot, status: Int16(clamping: status)) { close, writer in
            GatewayResponses.writePluginAnswer(
                status: status,
                requestID: requestID(slot),
                versionMinor: clients[slot].versionMinor,
                close: close,
                edits: pluginEdits(slot),
                into: &writer
            )
        }
    }
}
