import CLiburing
import Glibc

extension Worker {
    // MARK: - Upstream response

    /// Handles `length` response bytes in provided buffer `id` from upstream `slot`.
    func handleUpstreamData(_ slot: Int, id: Int32, length: Int32) {
        let client = Int(upstreamConnections[slot].client)
        guard client >= 0 else {
            recycleResponseBuffer(id)
            closeUpstream(slot)
            return
        }
        if upstreamConnections[slot].state == .tunneling {
            tunnelToClient(slot, client: client, id: id, length: Int(length))
        } else if upstreamConnections[slot].responseStarted {
            forwardResponseBody(slot, client: client, id: id, length: Int(length))
        } else {
            readResponseHead(slot, client: client, id: id, length: Int(length))
        }
    }

    func readResponseHead(_ slot: Int, client: Int, id: Int32, length: Int) {
        let capacity = blocks.blockSize - 1024
        var (source, sourceID) = responseSource(id)
        var view = UnsafeRawBufferPointer(start: pointer(source, sourceID), count: length)
        if upstreamConnections[slot].headBlock >= 0 {
            let block = upstreamConnections[slot].headBlock
            let room = capacity - Int(upstreamConnections[slot].headLength)
            guard length <= room else {
                recycleResponseBuffer(id)
                upstreamFailed(slot, status: 502, message: "upstream response head too large")
                return
            }
            (blocks.pointer(block) + Int(upstreamConnections[slot].headLength)).copyMemory(
                from: view.baseAddress!,
                byteCount: length
            )
            recycleResponseBuffer(id)
            upstreamConnections[slot].headLength += Int32(length)
            source = .block
            sourceID = block
            view = UnsafeRawBufferPointer(
                start: blocks.pointer(block),
                count: Int(upstreamConnections[slot].headLength)
            )
        }
        while true {
            switch HTTPParser.parseResponseHead(
                view,
                headers: headers,
                requestMethod: clients[client].method,
                limits: plan.httpLimits
            ) {
            case .incomplete:
                if upstreamConnections[slot].headBlock < 0 {
                    let block = blocks.take()
                    guard block >= 0 else {
                        recycleResponseBuffer(id)
                        upstreamFailed(slot, status: 502, message: "gateway out of memory")
                        return
                    }
                    blocks.pointer(block).copyMemory(from: view.baseAddress!, byteCount: view.count)
                    recycleResponseBuffer(id)
                    upstreamConnections[slot].headBlock = block
                    upstreamConnections[slot].headLength = Int32(view.count)
                } else if view.baseAddress != UnsafeRawPointer(blocks.pointer(sourceID)) {
                    // An informational response was skipped: move the rest to the block's front.
                    let base = blocks.pointer(sourceID)
                    memmove(base, view.baseAddress!, view.count)
                    upstreamConnections[slot].headLength = Int32(view.count)
                }
                postUpstreamReceive(slot)
                return
            case .invalid:
                release(source, sourceID)
                if source == .block { upstreamConnections[slot].headBlock = -1 }
                upstreamFailed(slot, status: 502, message: "upstream sent an invalid response")
                return
            case .complete(let head):
                if head.isInformational {
                    // 1xx interim responses are not forwarded (the gateway answers Expect itself).
                    view = UnsafeRawBufferPointer(rebasing: view[head.headLength...])
                    if view.count == 0 {
                        release(source, sourceID)
                        if source == .block { upstreamConnections[slot].headBlock = -1 }
                        upstreamConnections[slot].headLength = 0
                        postUpstreamReceive(slot)
                        return
                    }
                    continue
                }
                if head.status == 101 && clients[client].upgrade {
                    // The head block (if any) is handed over before anything can close the connection.
                    if source == .block {
                        upstreamConnections[slot].headBlock = -1
                        upstreamConnections[slot].headLength = 0
                    }
                    startTunnel(slot, client: client, head: head, view: view)
                    release(source, sourceID)
                    return
                }
                if head.status == 101 {
                    release(source, sourceID)
                    if source == .block { upstreamConnections[slot].headBlock = -1 }
                    upstreamFailed(slot, status: 502, message: "upstream switched protocols unexpectedly")
                    return
                }
                let upstream = Int(upstreamConnections[slot].upstream)
                if let outcome = responseOutcome(upstream: upstream, status: head.status) {
                    recordOutcome(node: Int(upstreamConnections[slot].node), outcome)
                }
                if head.status >= 502 && head.status <= 504 {
                    let condition: ProxyPlan.RetryConditions =
                        head.status == 502 ? .status502 : head.status == 503 ? .status503 : .status504
                    if retryIfPossible(slot, condition: condition) {
                        release(source, sourceID)
                        return
                    }
                }
                startResponse(slot, client: client, head: head, view: view)
                release(source, sourceID)
                if source == .block {
                    upstreamConnections[slot].headBlock = -1
                    upstreamConnections[slot].headLength = 0
                }
                return
            }
        }
    }

    /// Writes the downstream head plus any body bytes that came with it, and sends them.
    func startResponse(_ slot: Int, client: Int, head: HTTPResponseHead, view: UnsafeRawBufferPointer) {
        upstreamConnections[slot].responseHeadForwarded()
        if upstreamConnections[slot].retainedBlock >= 0 {
            blocks.release(upstreamConnections[slot].retainedBlock)
            upstreamConnections[slot].retainedBlock = -1
        }
        if !head.keepAlive || head.body == .closeDelimited { upstreamConnections[slot].reusable = false }
        clients[client].status = Int16(clamping: head.status)
        clients[client].upstreamStatus = Int16(clamping: head.status)
        traceStates[client].attemptStatus = UInt16(clamping: head.status)
        if head.body == .closeDelimited || !clients[client].requestDone { clients[client].closeAfter = true }
        if clients[client].versionMinor == 0 && head.body == .chunked {
            clients[client].dechunk = true
            clients[client].closeAfter = true
        }
        let block = blocks.take()
        guard block >= 0 else {
            upstreamFailed(slot, status: 502, message: "gateway out of memory")
            return
        }
        runHeaderFilter(client, status: head.status)
        let statusOverride = pluginStatusOverride(client)
        if statusOverride > 0 { clients[client].status = Int16(clamping: statusOverride) }
        var writer = HTTPHeadWriter(
            UnsafeMutableRawBufferPointer(start: blocks.pointer(block), count: blocks.blockSize)
        )
        let fitted = HTTPProxyHeads.writeDownstreamResponse(
            head: head,
            source: view,
            headers: headers,
            requestID: UnsafeRawBufferPointer(
                start: requestIDBytes + client * 64,
                count: Int(clients[client].requestIDLength)
            ),
            clientVersionMinor: clients[client].versionMinor,
            closeAfter: clients[client].closeAfter || draining,
            edits: pluginEdits(client),
            statusOverride: statusOverride,
            into: &writer
        )
        guard fitted && !writer.overflowed else {
            blocks.release(block)
            upstreamFailed(slot, status: 502, message: "upstream response head too large")
            return
        }
        var length = writer.count
        var framer = HTTPBodyFramer(head.body, limits: plan.httpLimits)
        let rest = UnsafeRawBufferPointer(rebasing: view[head.headLength...])
        let destination = blocks.pointer(block)
        if framer.isComplete {
            if rest.count > 0 { upstreamConnections[slot].reusable = false }
            clients[client].responseDone = true
            clients[client].upstreamEnd = now
        } else if rest.count > 0 {
            let result: HTTPBodyFramer.Result
            if clients[client].dechunk {
                var written = length
                let room = blocks.blockSize
                result = framer.consumeDecoding(rest) { payload in
                    let take = min(payload.count, room - written)
                    (destination + written).copyMemory(from: payload.baseAddress!, byteCount: take)
                    written += take
                }
                length = written
            } else {
                result = framer.consume(rest)
                var used = rest.count
                if case .done(let consumed) = result { used = consumed }
                let take = min(used, blocks.blockSize - length)
                (destination + length).copyMemory(from: rest.baseAddress!, byteCount: take)
                length += take
            }
            switch result {
            case .needMore: break
            case .done(let consumed):
                if consumed < rest.count { upstreamConnections[slot].reusable = false }
                clients[client].responseDone = true
                clients[client].upstreamEnd = now
            case .invalid:
                blocks.release(block)
                upstreamFailed(slot, status: 502, message: "upstream sent an invalid body")
                return
            }
        }
        upstreamConnections[slot].responseFramer = framer
        clients[client].responseStarted = true
        sendToClient(client, .block, block, length: length)
    }

    /// Forwards a body buffer to the client without copying (or dechunked into a block for HTTP/1.0).
    func forwardResponseBody(_ slot: Int, client: Int, id: Int32, length: Int) {
        var (source, sourceID) = responseSource(id)
        let data = UnsafeRawBufferPointer(start: pointer(source, sourceID), count: length)
        var framer = upstreamConnections[slot].responseFramer
        var count = length
        let result: HTTPBodyFramer.Result
        if clients[client].dechunk {
            let block = blocks.take()
            guard block >= 0 else {
                recycleResponseBuffer(id)
                closeClient(client)
                return
            }
            let destination = blocks.pointer(block)
            var written = 0
            let room = blocks.blockSize
            result = framer.consumeDecoding(data) { payload in
                let take = min(payload.count, room - written)
                (destination + written).copyMemory(from: payload.baseAddress!, byteCount: take)
                written += take
            }
            recycleResponseBuffer(id)
            source = .block
            sourceID = block
            count = written
        } else {
            result = framer.consume(data)
            if case .done(let consumed) = result { count = consumed }
        }
        upstreamConnections[slot].responseFramer = framer
        switch result {
        case .needMore: break
        case .done(let consumed):
            if consumed < length { upstreamConnections[slot].reusable = false }
            clients[client].responseDone = true
            clients[client].upstreamEnd = now
        case .invalid:
            release(source, sourceID)
            closeClient(client)
            return
        }
        if count == 0 {
            release(source, sourceID)
            if clients[client].responseDone {
                finishExchange(client)
            } else {
                postUpstreamReceive(slot)
            }
            return
        }
        sendToClient(client, source, sourceID, length: count)
    }

    // MARK: - Gateway-generated responses

    /// Sends a response the gateway wrote itself into `block`; the connection closes after it or reads
    /// the next request.
    func sendGatewayResponse(_ slot: Int, block: Int32, length: Int, status: Int16, close: Bool) {
        clients[slot].gatewayResponseStarted(status: status, close: close)
        sendToClient(slot, .block, block, length: length)
    }

    /// Sends `100 Continue` so a client waiting on `Expect` starts its body.
    func sendInterimContinue(_ slot: Int) {
        guard !clients[slot].sending, clients[slot].outputSource == .none else { return }
        let block = blocks.take()
        guard block >= 0 else { return }
        var writer = HTTPHeadWriter(
            UnsafeMutableRawBufferPointer(start: blocks.pointer(block), count: blocks.blockSize)
        )
        GatewayResponses.writeContinue(into: &writer)
        sendToClient(slot, .block, block, length: writer.count)
    }

    /// Answers with a small JSON error carrying the request id, then closes or continues.
    func respondWithError(_ slot: Int, status: Int, message: StaticString, upstream: Int = -1) {
        if clients[slot].sending || clients[slot].outputSource != .none {
            closeClient(slot)
            return
        }
        if clients[slot].state == .readingHead && !clients[slot].active {
            // The head never parsed: no id yet, and the stream position is unknown, so close after.
            requestIDs.write(to: requestIDBytes + slot * 64)
            clients[slot].requestIDLength = 32
            clients[slot].closeAfter = true
            clients[slot].requestDone = false
            clients[slot].requestStart = now
            // Not a HEAD as far as anyone knows: the error carries its body.
            clients[slot].method = .get
            beginUnparsedRecord(slot)
        }
        clients[slot].errorMessage = message
        runHeaderFilter(slot, status: status)
        sendGatewayWritten(slot, status: Int16(status)) { close, writer in
            // Errors about an upstream name it.
            GatewayResponses.writeError(
                status: status,
                message: message,
                upstreamName: upstream >= 0
                    ? plan.arena(plan.upstreams[upstream].nameOffset, plan.upstreams[upstream].nameLength) : nil,
                requestID: requestID(slot),
                traceID: traceID(slot),
                close: close,
                includeBody: clients[slot].method != .head,
                edits: pluginEdits(slot),
                into: &writer
            )
        }
    }

    /// Answers a route served by the `mocking` plugin.
    func respondWithMock(_ slot: Int, _ route: ProxyPlan.Route) {
        // The route came from the request's plan; its text lives in that plan's arena.
        unowned(unsafe) let routePlan = requestPlan(slot)
        runHeaderFilter(slot, status: Int(route.mockStatus))
        sendGatewayWritten(slot, status: route.mockStatus) { close, writer in
            GatewayResponses.writeMock(
                head: routePlan.arena(route.mockHeadOffset, route.mockHeadLength),
                body: routePlan.arena(route.mockBodyOffset, route.mockBodyLength),
                versionMinor: clients[slot].versionMinor,
                requestID: requestID(slot),
                close: close,
                includeBody: clients[slot].method != .head,
                edits: pluginEdits(slot),
                into: &writer
            )
        }
    }

    /// Takes a block, lets `write` fill it with a response the gateway writes itself (`close`: whether
    /// the connection closes after it), and sends it; a client that cannot get a block is closed.
    @inline(__always)
    func sendGatewayWritten(
        _ slot: Int,
        status: Int16,
        _ write: (_ close: Bool, _ writer: inout HTTPHeadWriter) -> Void
    ) {
        let block = blocks.take()
        guard block >= 0 else {
            closeClient(slot)
            return
        }
        let close = clients[slot].closeAfter || draining || !clients[slot].requestDone
        var writer = HTTPHeadWriter(
            UnsafeMutableRawBufferPointer(start: blocks.pointer(block), count: blocks.blockSize)
        )
        write(close, &writer)
        sendGatewayResponse(slot, block: block, length: writer.count, status: status, close: close)
    }
}
