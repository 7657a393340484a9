import CLiburing
import Glibc
import Tracing

extension Worker {
    // MARK: - Input bookkeeping

    @inline(__always)
    func pointer(_ source: ByteSource, _ id: Int32) -> UnsafeMutableRawPointer {
        switch source {
        case .provided: return io.bufferPointer(UInt16(truncatingIfNeeded: id))
        case .small: return smallBlocks.pointer(id)
        case .block, .none: return blocks.pointer(id)
        }
    }

    @inline(__always)
    func release(_ source: ByteSource, _ id: Int32) {
        switch source {
        case .provided: io.recycleBuffer(UInt16(truncatingIfNeeded: id))
        case .block: blocks.release(id)
        case .small: smallBlocks.release(id)
        case .none: break
        }
    }

    /// The client's unprocessed input (after any bytes in flight upstream).
    @inline(__always)
    func clientInput(_ slot: Int) -> UnsafeRawBufferPointer {
        let c = clients[slot]
        guard c.inputSource != .none else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let skip = Int(c.inputInFlight)
        return UnsafeRawBufferPointer(
            start: pointer(c.inputSource, c.inputID) + Int(c.inputOffset) + skip,
            count: Int(c.inputLength) - skip
        )
    }

    /// Marks `count` bytes at the front of the client's input as consumed.
    @inline(__always)
    func consumeClientInput(_ slot: Int, _ count: Int) {
        clients[slot].inputOffset += Int32(count)
        clients[slot].inputLength -= Int32(count)
        if clients[slot].inputLength == 0 {
            release(clients[slot].inputSource, clients[slot].inputID)
            clients[slot].inputSource = .none
            clients[slot].inputOffset = 0
        }
    }

    @inline(__always)
    func clientData(_ slot: Int) -> UInt64 {
        UserData.make(.clientReceive, slot: UInt32(slot), generation: clients[slot].generation)
    }

    /// Asks for more input: from the socket, or for TLS from records already received.
    @inline(__always)
    func postClientReceive(_ slot: Int) {
        guard !clients[slot].receiving else { return }
        if tlsStreams[slot].phase == .established && tlsStreams[slot].hasBufferedInput {
            queueTLSInput(slot)
            return
        }
        postRawClientReceive(slot)
    }

    @inline(__always)
    func postRawClientReceive(_ slot: Int) {
        guard !clients[slot].receiving else { return }
        if http2Streams[slot].live {
            http2WantInput(slot)
            return
        }
        clients[slot].receiving = true
        io.receive(fd: clients[slot].fd, userData: clientData(slot))
    }

    func retryStarvedReceives() {
        let pending = starvedReceives
        starvedReceives.removeAll(keepingCapacity: true)
        for packed in pending {
            let slot = Int(packed)
            if clients[slot].state != .closed { postClientReceive(slot) }
        }
    }

    // MARK: - Input

    /// Acts on whatever input the client has, in its current state.
    func processClientInput(_ slot: Int) {
        switch clients[slot].state {
        case .idle, .readingHead:
            clients[slot].requestArrived()
            readRequestHead(slot)
        case .exchanging: pumpRequestBody(slot)
        case .tunneling: pumpTunnelToUpstream(slot)
        case .http2: http2ProcessInput(slot)
        case .lingering:
            if clients[slot].inputSource != .none {
                release(clients[slot].inputSource, clients[slot].inputID)
                clients[slot].inputSource = .none
                clients[slot].inputLength = 0
            }
            postClientReceive(slot)
        case .responding, .closed: break
        }
    }

    // MARK: - Request head

    func readRequestHead(_ slot: Int) {
        let capacity = blocks.blockSize - 1024
        var view: UnsafeRawBufferPointer
        if clients[slot].headBlock >= 0 {
            // Append to the split head collected so far, moving from a small block to a large one when
            // the head outgrows it (most heads fit in 4 KiB; slow clients should not pin 48 KiB each).
            let input = clientInput(slot)
            if clients[slot].headSmall && Int(clients[slot].headLength) + input.count > smallBlocks.blockSize {
                let large = blocks.take()
                guard large >= 0 else {
                    respondWithError(slot, status: 503, message: "gateway out of memory")
                    return
                }
                blocks.pointer(large).copyMemory(
                    from: smallBlocks.pointer(clients[slot].headBlock),
                    byteCount: Int(clients[slot].headLength)
                )
                smallBlocks.release(clients[slot].headBlock)
                clients[slot].headBlock = large
                clients[slot].headSmall = false
            }
            let room = (clients[slot].headSmall ? smallBlocks.blockSize : capacity) - Int(clients[slot].headLength)
            let take = min(room, input.count)
            let block = pointer(clients[slot].headSmall ? .small : .block, clients[slot].headBlock)
            (block + Int(clients[slot].headLength)).copyMemory(from: input.baseAddress!, byteCount: take)
            clients[slot].headLength += Int32(take)
            consumeClientInput(slot, take)
            view = UnsafeRawBufferPointer(start: block, count: Int(clients[slot].headLength))
        } else {
            view = clientInput(slot)
            if view.count == 0 {
                postClientReceive(slot)
                return
            }
        }
        var parsed: HTTPHeadResult<HTTPRequestHead> = .incomplete
        let preface =
            clients[slot].http2Allowed && clients[slot].requestsServed == 0
            ? startsWithHTTP2Preface(view) : (matches: false, complete: false)
        if preface.complete {
            switchToHTTP2(slot)
            return
        }
        if !preface.matches { parsed = HTTPParser.parseRequestHead(view, headers: headers, limits: plan.httpLimits) }
        switch parsed {
        case .incomplete:
            if clients[slot].headBlock < 0 {
                let small = view.count <= smallBlocks.blockSize / 2
                let block = small ? smallBlocks.take() : blocks.take()
                if block < 0 {
                    respondWithError(slot, status: 503, message: "gateway out of memory")
                    return
                }
                // A fresh connection's head timeout runs from accept; a keep-alive request's from its first byte.
                if let deadline = clients[slot].incompleteHeadDeadline { arm(client: slot, deadline) }
                clients[slot].headBlock = block
                clients[slot].headSmall = small
                clients[slot].headLength = Int32(view.count)
                pointer(small ? .small : .block, block).copyMemory(from: view.baseAddress!, byteCount: view.count)
                consumeClientInput(slot, view.count)
            } else if Int(clients[slot].headLength) >= capacity {
                respondWithError(slot, status: 431, message: "request header fields too large")
                return
            }
            if clients[slot].inputSource != .none {
                // More input than the head can hold.
                respondWithError(slot, status: 431, message: "request header fields too large")
                return
            }
            postClientReceive(slot)
        case .invalid(let error):
            telemetry.recordRejected(error.reason)
            respondWithError(slot, status: error.status, message: error.reason.name)
        case .complete(let head):
            if clients[slot].headBlock >= 0 {
                // The collected head becomes the input (it may hold body bytes or a next request).
                if clients[slot].inputSource != .none {
                    // Input left over after filling the head block: cannot happen when the head completed
                    // within capacity; refuse rather than reorder bytes.
                    respondWithError(slot, status: 431, message: "request header fields too large")
                    return
                }
                clients[slot].inputSource = clients[slot].headSmall ? .small : .block
                clients[slot].inputID = clients[slot].headBlock
                clients[slot].inputOffset = 0
                clients[slot].inputLength = clients[slot].headLength
                clients[slot].inputInFlight = 0
                clients[slot].headBlock = -1
                clients[slot].headLength = 0
            }
            startRequest(slot, head, source: clientInput(slot))
        }
    }

    /// An h2c connection preface arrived: the bytes collected so far become the session's input.
    func switchToHTTP2(_ slot: Int) {
        clearDeadline(client: slot)
        if clients[slot].headBlock >= 0 {
            clients[slot].inputSource = clients[slot].headSmall ? .small : .block
            clients[slot].inputID = clients[slot].headBlock
            clients[slot].inputOffset = 0
            clients[slot].inputLength = clients[slot].headLength
            clients[slot].inputInFlight = 0
            clients[slot].headBlock = -1
            clients[slot].headLength = 0
        }
        startHTTP2(slot)
    }

    // MARK: - Request

    func startRequest(_ slot: Int, _ head: HTTPRequestHead, source: UnsafeRawBufferPointer) {
        clearDeadline(client: slot)
        clients[slot].requestStart = now
        clients[slot].method = head.method
        clients[slot].versionMinor = head.versionMinor
        // An HTTP/2 stream serves one request.
        clients[slot].closeAfter = !head.keepAlive || draining || http2Streams[slot].live
        clients[slot].requestDone = head.body == .none
        clients[slot].responseDone = false
        clients[slot].responseStarted = false
        clients[slot].dechunk = false
        clients[slot].status = 0
        clients[slot].requestFramer = HTTPBodyFramer(head.body, limits: plan.httpLimits)
        clients[slot].bodyBytes = 0
        clients[slot].upgrade = false
        clients[slot].grpcStatus = -1
        assignRequestID(slot, head, source)
        beginRecord(slot, head, source)

        let hostRange = head.host ?? 0..<0
        let host = UnsafeRawBufferPointer(rebasing: source[hostRange])
        let path = UnsafeRawBufferPointer(rebasing: source[head.pathRange])
        let routeIndex = plan.routeTable.match(method: head.method, host: host, path: path)
        clients[slot].route = Int32(routeIndex)
        beginTrace(slot, head, source, route: routeIndex)
        let tls = tlsSlot(slot)
        if tlsStreams[tls].phase != .none && tlsStreams[tls].clientCertificate.refused {
            // Downstream mTLS without `client.required`: every request is told why, none is served (on
            // HTTP/2, every stream of the connection).
            consumeClientInput(slot, head.headLength)
            if head.body != .none { clients[slot].closeAfter = true }
            respondWithError(
                slot,
                status: 400,
                message: tlsStreams[tls].clientCertificate == .missing
                    ? "no required SSL certificate was sent" : "the SSL certificate error"
            )
            return
        }
        continueRequest(slot, head, source: source, route: routeIndex, continuing: false)
    }

    /// After routing (and again after a plugin's delay): the plugins, the route's own checks, then the
    /// upstream request or the gateway's answer.
    func continueRequest(
        _ slot: Int,
        _ head: HTTPRequestHead,
        source: UnsafeRawBufferPointer,
        route routeIndex: Int,
        continuing: Bool
    ) {
        // Route and upstream settings from the plan the request started on (a plugin's delay may span
        // a reload); nodes from the current plan, which the node picker follows.
        unowned(unsafe) let requestPlan = requestPlan(slot)
        if routeIndex >= 0 ? requestPlan.routes[routeIndex].hasPlugins : requestPlan.hasGlobalPlugins {
            switch runRequestPlugins(slot, route: routeIndex, head: head, source: source, continuing: continuing) {
            case .proceed: break
            case .delayed: return
            case .ended:
                // The plugin's answer is on its way; the head is done with and a body will not be read.
                consumeClientInput(slot, head.headLength)
                if head.body != .none { clients[slot].closeAfter = true }
                return
            }
        }
        guard routeIndex >= 0 else {
            consumeClientInput(slot, head.headLength)
            if head.body != .none { clients[slot].closeAfter = true }
            respondWithError(slot, status: 404, message: "no route matches the request")
            return
        }
        let route = requestPlan.routes[routeIndex]
        if route.maxBodyBytes > 0, case .contentLength(let length) = head.body, length > route.maxBodyBytes {
            consumeClientInput(slot, head.headLength)
            clients[slot].closeAfter = true
            respondWithError(slot, status: 413, message: "request body larger than client_max_body_size")
            return
        }
        if route.upstream < 0 {
            consumeClientInput(slot, head.headLength)
            if head.body != .none { clients[slot].closeAfter = true }
            respondWithMock(slot, route)
            return
        }
        if requestPlan.upstreams[Int(route.upstream)].balancer == .consistentHash {
            clients[slot].hashKey = requestHashKey(slot, upstream: Int(route.upstream), source: source)
        }
        let node = pickNode(client: slot, upstream: Int(route.upstream))
        guard node >= 0 else {
            consumeClientInput(slot, head.headLength)
            if head.body != .none { clients[slot].closeAfter = true }
            respondWithError(slot, status: 503, message: "no available node in upstream", upstream: Int(route.upstream))
            return
        }

        // Rewrite the head into a block that is sent to the upstream.
        let block = blocks.take()
        guard block >= 0 else {
            consumeClientInput(slot, head.headLength)
            clients[slot].closeAfter = true
            respondWithError(slot, status: 503, message: "gateway out of memory")
            return
        }
        let upstreamPlan = requestPlan.upstreams[Int(route.upstream)]
        let hostOverride: UnsafeRawBufferPointer?
        switch upstreamPlan.passHost {
        case .pass: hostOverride = nil
        case .node: hostOverride = plan.arena(plan.nodes[node].hostOffset, plan.nodes[node].hostLength)
        case .rewrite: hostOverride = requestPlan.arena(upstreamPlan.hostOffset, upstreamPlan.hostLength)
        }
        var writer = HTTPHeadWriter(
            UnsafeMutableRawBufferPointer(start: blocks.pointer(block), count: blocks.blockSize)
        )
        // The attempt's span id is written into the value when each attempt starts (beginAttemptSpan).
        let trace = traceStates[slot]
        var traceparent: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
        if trace.active {
            withUnsafeMutableBytes(of: &traceparent) {
                TraceParent.write(
                    traceIDHigh: trace.traceIDHigh,
                    traceIDLow: trace.traceIDLow,
                    spanID: trace.serverSpanID,
                    flags: trace.flags,
                    to: $0.baseAddress!
                )
            }
        }
        var traceparentOffset = -1
        let upgrade = route.upgradeLength > 0 && allowsUpgrade(route, head, source)
        clients[slot].upgrade = upgrade
        let fitted = withUnsafeBytes(of: &traceparent) { traceparentBytes in
            HTTPProxyHeads.writeUpstreamRequest(
                head: head,
                source: source,
                headers: headers,
                hostOverride: hostOverride,
                clientAddress: UnsafeRawBufferPointer(
                    start: clientAddressBytes + slot * 48,
                    count: Int(clients[slot].clientAddressLength)
                ),
                proto: isSecure(slot) ? "https" : "http",
                requestID: UnsafeRawBufferPointer(
                    start: requestIDBytes + slot * 64,
                    count: Int(clients[slot].requestIDLength)
                ),
                edits: pluginEdits(slot),
                traceparent: trace.active
                    ? UnsafeRawBufferPointer(rebasing: traceparentBytes[0..<TraceParent.length]) : nil,
                dropTraceState: trace.active && trace.restarted,
                traceparentOffset: &traceparentOffset,
                upgrade: upgrade,
                into: &writer
            )
        }
        // The span id sits 36 bytes into the value.
        traceStates[slot].spanIDOffset = traceparentOffset >= 0 ? Int32(traceparentOffset + 36) : -1
        consumeClientInput(slot, head.headLength)
        guard fitted && !writer.overflowed else {
            blocks.release(block)
            clients[slot].closeAfter = true
            respondWithError(slot, status: 431, message: "request header fields too large")
            return
        }
        var length = writer.count
        // Body bytes that arrived with the head travel in the same send when they fit.
        if !clients[slot].requestDone {
            let input = clientInput(slot)
            let room = blocks.blockSize - length
            let chunk = min(room, input.count)
            if chunk > 0 {
                var framer = clients[slot].requestFramer
                let result = consumeRequestBody(slot, &framer, UnsafeRawBufferPointer(rebasing: input[0..<chunk]))
                clients[slot].requestFramer = framer
                var used = chunk
                switch result {
                case .needMore: break
                case .done(let consumed):
                    used = consumed
                    clients[slot].requestDone = true
                case .invalid(let error):
                    telemetry.recordRejected(error.reason)
                    blocks.release(block)
                    clients[slot].closeAfter = true
                    respondWithError(slot, status: error.status, message: error.reason.name)
                    return
                }
                (blocks.pointer(block) + length).copyMemory(from: input.baseAddress!, byteCount: used)
                length += used
                consumeClientInput(slot, used)
                if route.maxBodyBytes > 0 && clients[slot].bodyBytes > route.maxBodyBytes {
                    blocks.release(block)
                    clients[slot].closeAfter = true
                    respondWithError(slot, status: 413, message: "request body larger than client_max_body_size")
                    return
                }
            }
        }
        if head.expectContinue && !clients[slot].requestDone {
            sendInterimContinue(slot)
        }
        clients[slot].exchangeStarted()
        beginUpstreamExchange(client: slot, upstream: Int(route.upstream), node: node, block: block, length: length)
    }

    /// Whether the request came over TLS (an HTTP/2 stream's connection, or the slot's own).
    @inline(__always)
    func isSecure(_ slot: Int) -> Bool {
        tlsStreams[tlsSlot(slot)].phase != .none
    }

    /// The slot whose TLS session carries `slot`'s requests: an HTTP/2 stream's connection, else itself.
    @inline(__always)
    func tlsSlot(_ slot: Int) -> Int {
        http2Streams[slot].live ? Int(http2Streams[slot].connection) : slot
    }

    /// Keeps a sane client-supplied request id (``RequestIDHeaderTable/isSane(_:)``), otherwise makes one.
    /// The id header is `X-Request-Id`, or the `header_name` of the route's `request-id` plugin.
    @inline(__always)
    func assignRequestID(_ slot: Int, _ head: HTTPRequestHead, _ source: UnsafeRawBufferPointer) {
        let destination = requestIDBytes + slot * 64
        var sent = head.requestID
        // Unretained: the plan keeps the table alive, and the request path takes no reference counts.
        unowned(unsafe) let table = plan.plugins.requestIDHeaders
        if table.renamed {
            // Only plans with a renamed id header pay for matching the route here too.
            let host = UnsafeRawBufferPointer(rebasing: source[head.host ?? 0..<0])
            let path = UnsafeRawBufferPointer(rebasing: source[head.pathRange])
            let name = table.name(route: plan.routeTable.match(method: head.method, host: host, path: path))
            if name.count > 0 {
                sent = RequestIDHeaderTable.value(named: name, headers: headers, source: source)
            }
        }
        if let range = sent, RequestIDHeaderTable.isSane(UnsafeRawBufferPointer(rebasing: source[range])) {
            destination.copyMemory(from: source.baseAddress! + range.lowerBound, byteCount: range.count)
            clients[slot].requestIDLength = UInt8(range.count)
            return
        }
        requestIDs.write(to: destination)
        clients[slot].requestIDLength = 32
    }

    /// Runs the request framer over `bytes`, counting payload bytes (chunk framing excluded) for limits.
    @inline(__always)
    func consumeRequestBody(
        _ slot: Int,
        _ framer: inout HTTPBodyFramer,
        _ bytes: UnsafeRawBufferPointer
    )
        -> HTTPBodyFramer.Result
    {
        var payload = 0
        let result = framer.consumeDecoding(bytes) { payload += $0.count }
        clients[slot].bodyBytes &+= Int64(payload)
        return result
    }

    /// Forwards request body bytes the client has sent, one send at a time (backpressure).
    func pumpRequestBody(_ slot: Int) {
        guard clients[slot].state == .exchanging, !clients[slot].requestDone else { return }
        let upstreamSlot = Int(clients[slot].upstream)
        guard upstreamSlot >= 0 else { return }
        guard upstreamConnections[upstreamSlot].isConnected, !upstreamConnections[upstreamSlot].sending,
            upstreamConnections[upstreamSlot].outputSource == .none
        else { return }
        let input = clientInput(slot)
        guard input.count > 0 else {
            setDeadline(client: slot, .body, after: requestPlan(slot).bodyTimeout)
            postClientReceive(slot)
            return
        }
        var framer = clients[slot].requestFramer
        let result = consumeRequestBody(slot, &framer, input)
        clients[slot].requestFramer = framer
        var count = input.count
        switch result {
        case .needMore: break
        case .done(let consumed):
            count = consumed
            clients[slot].requestDone = true
            clearDeadline(client: slot)
        case .invalid(let error):
            telemetry.recordRejected(error.reason)
            abortExchange(slot, status: error.status, message: error.reason.name)
            return
        }
        let route = requestPlan(slot).routes[Int(clients[slot].route)]
        if route.maxBodyBytes > 0 && clients[slot].bodyBytes > route.maxBodyBytes {
            abortExchange(slot, status: 413, message: "request body larger than client_max_body_size")
            return
        }
        if count == 0 {
            pumpRequestBody(slot)
            return
        }
        clients[slot].inputInFlight = Int32(count)
        upstreamConnections[upstreamSlot].outputSource = clients[slot].inputSource
        upstreamConnections[upstreamSlot].outputBorrowed = true
        upstreamConnections[upstreamSlot].outputID = clients[slot].inputID
        upstreamConnections[upstreamSlot].outputOffset = clients[slot].inputOffset
        upstreamConnections[upstreamSlot].outputLength = Int32(count)
        sendUpstreamOutput(upstreamSlot)
    }

    // MARK: - Send

    /// Sends `length` bytes from the start of `id` to the client; the bytes are released when sent.
    @inline(__always)
    func sendToClient(_ slot: Int, _ source: ByteSource, _ id: Int32, length: Int) {
        clients[slot].outputSource = source
        clients[slot].outputID = id
        clients[slot].outputOffset = 0
        clients[slot].outputLength = Int32(length)
        sendClientOutput(slot)
    }

    @inline(__always)
    func sendClientOutput(_ slot: Int) {
        if http2Streams[slot].live {
            http2StreamOutput(slot)
            return
        }
        if tlsStreams[slot].phase.inUserspace {
            sealClientOutput(slot)
            return
        }
        let c = clients[slot]
        clients[slot].sending = true
        io.send(
            fd: c.fd,
            buffer: pointer(c.outputSource, c.outputID) + Int(c.outputOffset),
            count: Int(c.outputLength),
            userData: UserData.make(.clientSend, slot: UInt32(slot), generation: c.generation)
        )
        setDeadline(client: slot, .send, after: plan.sendTimeout)
    }

    /// After a complete response: park or close the upstream, then serve the next request or close.
    func finishExchange(_ slot: Int) {
        let upstreamSlot = Int(clients[slot].upstream)
        clients[slot].upstream = -1
        if upstreamSlot >= 0 {
            upstreamConnections[upstreamSlot].client = -1
            if clients[slot].requestDone { releaseUpstream(upstreamSlot) } else { closeUpstream(upstreamSlot) }
        }
        finishClientResponse(slot)
    }

    /// The response is sent: close, or go back to reading the next request.
    func finishClientResponse(_ slot: Int) {
        if http2Streams[slot].live { http2Streams[slot].slotFinished = true }
        completeRequest(slot)
        let next = clients[slot].responseFinished(
            draining: draining,
            trimTLSWhenIdle: tlsStreams[slot].phase == .established && plan.keepaliveTimeout > Self.tlsIdleTrimDelay
        )
        switch next {
        case .linger:
            lingerAndClose(slot)
        case .close:
            closeClient(slot)
        case .readBufferedRequest:
            clients[slot].bytesIn = Int64(clientInput(slot).count)
            clients[slot].bytesOut = 0
            readRequestHead(slot)
        case .awaitRequest(let deadline):
            clients[slot].bytesIn = Int64(clientInput(slot).count)
            clients[slot].bytesOut = 0
            arm(client: slot, deadline)
            postClientReceive(slot)
        }
    }

    // MARK: - Close

    /// Half-closes after a response the client may still be sending into (an error before its body
    /// was read), then drains and closes on EOF or after two seconds.
    func lingerAndClose(_ slot: Int) {
        if http2Streams[slot].live {
            // A stream has no socket to linger on: its end tells the client to stop sending (RST NO_ERROR).
            closeClient(slot)
            return
        }
        let upstreamSlot = Int(clients[slot].upstream)
        if upstreamSlot >= 0 {
            clients[slot].upstream = -1
            upstreamConnections[upstreamSlot].client = -1
            closeUpstream(upstreamSlot)
        }
        if clients[slot].inputSource != .none {
            release(clients[slot].inputSource, clients[slot].inputID)
            clients[slot].inputSource = .none
            clients[slot].inputLength = 0
            clients[slot].inputInFlight = 0
        }
        if clients[slot].headBlock >= 0 {
            release(clients[slot].headSmall ? .small : .block, clients[slot].headBlock)
            clients[slot].headBlock = -1
        }
        let deadline = clients[slot].lingerStarted()
        io.shutdownWrite(fd: clients[slot].fd)
        arm(client: slot, deadline)
        postClientReceive(slot)
    }

    func closeClient(_ slot: Int) {
        guard clients[slot].state != .closed else { return }
        if http2Streams[slot].live {
            closeHTTP2StreamSlot(slot)
            return
        }
        if clients[slot].state == .http2 { closeHTTP2(slot) }
        if clients[slot].state == .tunneling { tunnelClosed(slot) }
        completeRequest(slot, aborted: true)
        telemetry.recordConnection(opened: false)
        let upstreamSlot = Int(clients[slot].upstream)
        if upstreamSlot >= 0 {
            clients[slot].upstream = -1
            upstreamConnections[upstreamSlot].client = -1
            closeUpstream(upstreamSlot)
        }
        clearDeadline(client: slot)
        let fd = clients[slot].fd
        var sendPosted = clients[slot].sending
        if tlsStreams[slot].phase != .none {
            sendPosted = sendPosted || tlsStreams[slot].sendPosted
            closeTLS(slot)
        }
        if clients[slot].receiving || sendPosted { io.cancel(fd: fd) }
        io.close(fd: fd)
        if clients[slot].inputSource != .none { release(clients[slot].inputSource, clients[slot].inputID) }
        if clients[slot].outputSource != .none { release(clients[slot].outputSource, clients[slot].outputID) }
        if clients[slot].headBlock >= 0 { release(clients[slot].headSmall ? .small : .block, clients[slot].headBlock) }
        clients[slot].inputSource = .none
        clients[slot].outputSource = .none
        clients[slot].headBlock = -1
        clients[slot].closed()
        clientSlots.release(slot)
        control.connectionClosed(worker: index)
    }
}
