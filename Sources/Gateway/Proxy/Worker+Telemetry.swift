import AccessLog
import CLiburing
import Glibc

extension Worker {
    /// Starts measuring and logging a request whose head parsed.
    @inline(__always)
    func beginRecord(_ slot: Int, _ head: HTTPRequestHead, _ source: UnsafeRawBufferPointer) {
        guard let record = beginRequestState(slot) else { return }
        record.pointee.method = AccessRecord.Method(rawValue: head.method.rawValue) ?? .other
        record.pointee.httpVersion =
            http2Streams[slot].live ? .http2 : head.versionMinor == 0 ? .http1_0 : .http1_1
        record.pointee.client = clientAddresses[slot]
        record.pointee.setPath(UnsafeRawBufferPointer(rebasing: source[head.targetRange]))
        if let agent = head.userAgent {
            record.pointee.setUserAgent(UnsafeRawBufferPointer(rebasing: source[agent]))
        }
        record.pointee.setRequestID(requestID(slot))
        if isSecure(slot) { recordTLS(tlsSlot(slot), record) }
    }

    /// Starts a record for a request that never parsed (it gets a 4xx from the gateway).
    func beginUnparsedRecord(_ slot: Int) {
        clients[slot].route = -1
        guard let record = beginRequestState(slot) else { return }
        record.pointee.method = .other
        record.pointee.client = clientAddresses[slot]
        record.pointee.setRequestID(requestID(slot))
    }

    /// Clears what the previous request on this connection left (attempts, upstream timing, error)
    /// and marks a request active; returns its access record, reset and stamped, when logging is on.
    @inline(__always)
    func beginRequestState(_ slot: Int) -> UnsafeMutablePointer<AccessRecord>? {
        if clients[slot].holdsPlan { planSlots.leave(clients[slot].planSlot) }
        clients[slot].active = true
        clients[slot].planSlot = planSlots.enter()
        clients[slot].holdsPlan = true
        clients[slot].upstreamStart = 0
        clients[slot].upstreamEnd = 0
        clients[slot].upstreamStatus = 0
        clients[slot].node = -1
        clients[slot].errorMessage = nil
        clients[slot].attempts = 0
        clients[slot].triedNodes = 0
        clients[slot].retrying = false
        clients[slot].exchangeCounted = false
        clients[slot].retryPending = false
        clients[slot].retryBlock = -1
        traceStates[slot].active = false
        guard accessRing != nil else { return nil }
        let record = records + slot
        record.pointee.reset()
        record.pointee.time = Int64(gw_realtime_ns())
        return record
    }

    @inline(__always)
    func requestID(_ slot: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: requestIDBytes + slot * 64, count: Int(clients[slot].requestIDLength))
    }

    /// The peer address in the access log's compact form (once per connection, at accept).
    static func logAddress(_ peer: SocketAddress) -> ClientAddress {
        withUnsafeBytes(of: peer.storage) { raw in
            if peer.family == AF_INET6 {
                let offset = MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!
                return ClientAddress(raw.load(fromByteOffset: offset, as: in6_addr.self))
            }
            let offset = MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!
            return ClientAddress(raw.load(fromByteOffset: offset, as: in_addr.self))
        }
    }

    /// Measures and logs the client's current request once, when its response ends (or the client goes).
    func completeRequest(_ slot: Int, aborted: Bool = false) {
        guard clients[slot].active else { return }
        clients[slot].active = false
        // The request's plan stays its own until its `log` plugins have run and it has been recorded.
        defer {
            if clients[slot].holdsPlan {
                clients[slot].holdsPlan = false
                planSlots.leave(clients[slot].planSlot)
            }
        }
        let c = clients[slot]
        endExchangeAccounting(client: slot)
        // 499: the client went away before a response was sent (nginx's convention).
        let status = c.responseStarted || !aborted ? Int(c.status) : 499
        let total = now &- c.requestStart
        var upstream: Int64 = -1
        if c.upstreamStart > 0 && c.upstreamStatus > 0 {
            upstream = Int64((c.upstreamEnd > 0 ? c.upstreamEnd : now) &- c.upstreamStart)
        }
        // What the plugins decided, read before their state is emptied (nothing to read without them).
        var consumer: Int32 = -1
        var rejectedBy: Int16 = -1
        var logField: (AccessLogSymbol, AccessLogSymbol) = (.none, .none)
        let plugins = pluginStates + slot
        if plugins.pointee.active {
            // Consumer series and log symbols follow the current plan: a consumer of an older plan is left out.
            if plugins.pointee.generation == plan.generation { consumer = plugins.pointee.consumer }
            rejectedBy = plugins.pointee.rejectedBy
            logField = (plugins.pointee.logFieldName, plugins.pointee.logFieldValue)
            finishRequestPlugins(slot, status: status)
        }
        // Only a sampled trace exists in the tracing backend: only its id is worth an exemplar's link.
        let trace = traceStates[slot]
        let sampledTrace = trace.sampled
        if sampledTrace { endServerSpan(slot, status: status, aborted: aborted) }
        // A tunnel's request is measured to its 101, so hours-long tunnels stay out of latency families.
        telemetry.recordRequest(
            route: Int(c.route),
            method: c.method,
            status: status,
            totalNanoseconds: c.state == .tunneling ? c.tunnelStart &- c.requestStart : total,
            upstreamNanoseconds: upstream,
            bytesIn: c.bytesIn,
            bytesOut: c.bytesOut,
            requestID: requestID(slot),
            traceIDHigh: sampledTrace ? trace.traceIDHigh : 0,
            traceIDLow: sampledTrace ? trace.traceIDLow : 0,
            consumer: consumer
        )
        if c.grpcStatus >= 0 { telemetry.recordGRPC(route: Int(c.route), status: Int(c.grpcStatus)) }
        guard let logRing = accessRing else { return }
        let sampling = plan.sampling
        if sampling.logSampling
            && !sampling.logs(status: status, duration: total, sampledTrace: sampledTrace, random: traceIDs.next())
        {
            logRing._withUnsafeGuaranteedRef { $0.countSampledOut() }
            return
        }
        let record = records + slot
        record.pointee.status = UInt16(clamping: status)
        record.pointee.duration = Int64(total)
        record.pointee.upstreamDuration = upstream
        record.pointee.upstreamStatus = UInt16(clamping: Int(c.upstreamStatus))
        record.pointee.grpcStatus = c.grpcStatus >= 0 ? UInt8(clamping: c.grpcStatus) : AccessRecord.noGRPCStatus
        record.pointee.attempts = c.attempts
        record.pointee.bytesIn = UInt64(clamping: c.bytesIn)
        record.pointee.bytesOut = UInt64(clamping: c.bytesOut)
        record.pointee.route = c.route >= 0 ? routeSymbols[Int(c.route)] : .none
        record.pointee.upstream = c.node >= 0 ? nodeSymbols[Int(c.node)] : .none
        if consumer >= 0 && Int(consumer) < consumerSymbols.count {
            record.pointee.consumer = consumerSymbols[Int(consumer)]
        }
        if rejectedBy >= 0 { record.pointee.rejectedBy = pluginSymbols[Int(rejectedBy)] }
        record.pointee.pluginFieldName = logField.0
        record.pointee.pluginFieldValue = logField.1
        if let message = c.errorMessage {
            record.pointee.error = errorSymbol(message)
        } else if aborted && !c.responseStarted {
            record.pointee.error = errorSymbol("client closed the connection")
        }
        _ = logRing._withUnsafeGuaranteedRef { $0.push(record.pointee) }
    }

    /// The interned symbol for a gateway error message (interned on first use per worker).
    func errorSymbol(_ message: StaticString) -> AccessLogSymbol {
        let key = UInt(bitPattern: message.utf8Start)
        if let symbol = errorSymbols[key] { return symbol }
        let symbol = (try? observability.accessLogger?.register("\(message)")) ?? .none
        errorSymbols[key] = symbol
        return symbol
    }
}
