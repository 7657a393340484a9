import AccessLog
import CLiburing
import Glibc
import Tracing

extension Worker {
    /// Decides the request's place in a trace, once its head has parsed: continue the caller's trace
    /// from a valid `traceparent` (keeping its sampled flag), start one (sampled by
    /// `tracing.sampling_ratio`, the route's own when it has one), or stay outside (propagate only:
    /// headers pass through untouched).
    @inline(__always)
    func beginTrace(_ slot: Int, _ head: HTTPRequestHead, _ source: UnsafeRawBufferPointer, route: Int) {
        let sampling = plan.sampling
        guard sampling.tracing else { return }
        let threshold = route >= 0 ? plan.routes[route].traceThreshold : sampling.traceThreshold
        var state = TraceState()
        if let range = head.traceparent,
            let parent = TraceParent.parse(UnsafeRawBufferPointer(rebasing: source[range]))
        {
            state.traceIDHigh = parent.traceIDHigh
            state.traceIDLow = parent.traceIDLow
            state.parentSpanID = parent.parentID
            state.flags = parent.flags & 1
        } else if threshold > 0 {
            (state.traceIDHigh, state.traceIDLow) = traceIDs.traceID()
            state.flags = RequestSampling.samples(traceIDLow: state.traceIDLow, threshold: threshold) ? 1 : 0
            state.restarted = head.traceparentSent
        } else {
            return
        }
        state.serverSpanID = traceIDs.spanID()
        state.active = true
        traceStates[slot] = state
        let hex = traceIDBytes + slot * 32
        TraceParent.writeHex(state.traceIDHigh, digits: 16, to: hex)
        TraceParent.writeHex(state.traceIDLow, digits: 16, to: hex + 16)
        if accessRing != nil {
            records[slot].traceIDHigh = state.traceIDHigh
            records[slot].traceIDLow = state.traceIDLow
        }
        guard state.flags & 1 != 0, spanRing != nil else { return }
        // The server span's request-side fields, while the head's bytes are at hand.
        let span = serverSpans + slot
        span.pointee.reset()
        span.pointee.kind = .server
        span.pointee.traceIDHigh = state.traceIDHigh
        span.pointee.traceIDLow = state.traceIDLow
        span.pointee.spanID = state.serverSpanID
        span.pointee.parentSpanID = state.parentSpanID
        span.pointee.traceFlags = state.flags
        span.pointee.startTime = Int64(gw_realtime_ns()) &- Int64(now &- clients[slot].requestStart)
        span.pointee.method = AccessRecord.Method(rawValue: head.method.rawValue) ?? .other
        span.pointee.peer = clientAddresses[slot]
        span.pointee.setPath(UnsafeRawBufferPointer(rebasing: source[head.pathRange]))
        if let host = head.host { span.pointee.setServerAddress(UnsafeRawBufferPointer(rebasing: source[host])) }
    }

    /// The 32 hex digits of the request's trace id, or no bytes outside a trace.
    @inline(__always)
    func traceID(_ slot: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: traceIDBytes + slot * 32, count: traceStates[slot].active ? 32 : 0)
    }

    /// A new upstream attempt: a new client span, whose id goes into the request's `traceparent`.
    @inline(__always)
    func beginAttemptSpan(_ client: Int, block: Int32) {
        guard traceStates[client].active else { return }
        let span = traceIDs.spanID()
        traceStates[client].attemptSpanID = span
        traceStates[client].attemptStatus = 0
        // Only a sampled attempt becomes a span: an unsampled one skips the clock read.
        if traceStates[client].flags & 1 != 0 { traceStates[client].attemptStart = Int64(gw_realtime_ns()) }
        let offset = Int(traceStates[client].spanIDOffset)
        if offset >= 0 && block >= 0 { TraceParent.writeHex(span, digits: 16, to: blocks.pointer(block) + offset) }
    }

    /// The current attempt is over: records its client span when the trace is sampled. `failure` names
    /// why it failed when no response status tells (a timeout, a refused connect).
    func endAttemptSpan(_ client: Int, node: Int, failure: StaticString?) {
        let state = traceStates[client]
        guard state.sampled, state.attemptSpanID != 0, let ring = spanRing else { return }
        traceStates[client].attemptSpanID = 0
        let route = Int(clients[client].route)
        let host = plan.arena(plan.nodes[node].hostOffset, plan.nodes[node].hostLength)
        let method = AccessRecord.Method(rawValue: clients[client].method.rawValue) ?? .other
        let attempt = clients[client].attempts
        let end = Int64(gw_realtime_ns())
        _ = ring._withUnsafeGuaranteedRef { ring in
            ring.push { span in
                span.reset()
                span.kind = .client
                span.traceIDHigh = state.traceIDHigh
                span.traceIDLow = state.traceIDLow
                span.spanID = state.attemptSpanID
                span.parentSpanID = state.serverSpanID
                span.traceFlags = state.flags
                span.startTime = state.attemptStart
                span.endTime = end
                span.method = method
                span.status = state.attemptStatus
                span.attempt = attempt
                span.setServerAddress(host)
                if route >= 0 { self.setRoute(&span, route) }
                if state.attemptStatus == 0 {
                    if let failure { span.setErrorType(Self.bytes(failure)) }
                } else if state.attemptStatus >= 500 {
                    Self.setStatusErrorType(&span, Int(state.attemptStatus))
                }
            }
        }
    }

    /// The request is over: records the server span when the trace is sampled.
    func endServerSpan(_ slot: Int, status: Int, aborted: Bool) {
        guard traceStates[slot].sampled, let ring = spanRing else { return }
        let span = serverSpans + slot
        span.pointee.endTime = Int64(gw_realtime_ns())
        span.pointee.status = UInt16(clamping: status)
        let route = Int(clients[slot].route)
        if route >= 0 { setRoute(&span.pointee, route) }
        if aborted && !clients[slot].responseStarted {
            span.pointee.setErrorType(Self.bytes("client_closed"))
        } else if status >= 500 {
            Self.setStatusErrorType(&span.pointee, status)
        }
        _ = ring._withUnsafeGuaranteedRef { $0.push(span.pointee) }
    }

    /// `http.route`: the matched route's id (sampled requests only: reading the id retains its string).
    private func setRoute(_ span: inout SpanRecord, _ route: Int) {
        guard route < plan.routeIDs.count else { return }
        var id = plan.routeIDs[route]
        id.withUTF8 { span.setRoute(UnsafeRawBufferPointer($0)) }
    }

    /// OpenTelemetry's HTTP conventions: a 5xx without another cause has its status code as `error.type`.
    private static func setStatusErrorType(_ span: inout SpanRecord, _ status: Int) {
        var digits: (UInt8, UInt8, UInt8) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            buffer[0] = UInt8(48 + status / 100 % 10)
            buffer[1] = UInt8(48 + status / 10 % 10)
            buffer[2] = UInt8(48 + status % 10)
            span.setErrorType(UnsafeRawBufferPointer(buffer))
        }
    }

    @inline(__always)
    static func bytes(_ text: StaticString) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
    }
}

extension ProxyPlan.RetryConditions {
    /// `error.type` of an attempt that failed this way; nil for a status (the span carries the status).
    var errorType: StaticString? {
        if self == .connectFailure { return "connect_error" }
        if self == .timeout { return "timeout" }
        return nil
    }
}
