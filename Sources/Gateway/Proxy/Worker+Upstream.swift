import CLiburing
import Glibc

extension Worker {
    @inline(__always)
    func upstreamData(_ kind: UserData.Kind, _ slot: Int) -> UInt64 {
        UserData.make(kind, slot: UInt32(slot), generation: upstreamConnections[slot].generation)
    }

    // MARK: - Balancing

    // MARK: - Exchange start

    /// Sends the prepared request block over a pooled or new connection to `node`.
    func beginUpstreamExchange(client: Int, upstream: Int, node: Int, block: Int32, length: Int) {
        let slot: Int
        if plan.upstreams[upstream].http2 {
            // gRPC: a stream on the node's HTTP/2 session instead of a connection of its own.
            guard let stream = openHTTP2Stream(upstream: upstream, node: node) else {
                blocks.release(block)
                respondWithError(client, status: 502, message: "cannot open a connection to the upstream")
                return
            }
            slot = stream
        } else if let idle = takeIdle(node: node) {
            slot = idle
        } else {
            guard let fresh = openUpstream(upstream: upstream, node: node) else {
                blocks.release(block)
                respondWithError(client, status: 502, message: "cannot open a connection to the upstream")
                return
            }
            slot = fresh
        }
        clients[client].upstreamStart = now
        enterNode(client: client, upstream: upstream, node: node)
        beginAttemptSpan(client, block: block)
        attachRequest(slot, client: client, block: block, length: length)
        if upstreamConnections[slot].isConnected { sendUpstreamOutput(slot) }
    }

    /// Links upstream `slot` to `client` with the request block as its output. A block holding the
    /// whole request is kept until the response starts, so it can be sent again elsewhere.
    func attachRequest(_ slot: Int, client: Int, block: Int32, length: Int) {
        upstreamConnections[slot].client = Int32(client)
        clients[client].upstream = Int32(slot)
        upstreamConnections[slot].outputSource = .block
        upstreamConnections[slot].outputID = block
        upstreamConnections[slot].outputOffset = 0
        upstreamConnections[slot].outputLength = Int32(length)
        let whole = clients[client].requestDone
        upstreamConnections[slot].outputBorrowed = whole
        upstreamConnections[slot].retainedBlock = whole ? block : -1
        upstreamConnections[slot].retainedLength = whole ? Int32(length) : 0
    }

    /// Takes the request block away from failed upstream `slot` and closes the connection; the
    /// caller now owns the block.
    func detachRequest(_ slot: Int, block: Int32) {
        let client = Int(upstreamConnections[slot].client)
        upstreamConnections[slot].retainedBlock = -1
        if upstreamConnections[slot].outputSource == .block && upstreamConnections[slot].outputID == block {
            upstreamConnections[slot].outputSource = .none
        }
        upstreamConnections[slot].client = -1
        if client >= 0 { clients[client].upstream = -1 }
        closeUpstream(slot)
    }

    /// Opens a socket and posts a connect; returns the slot, or nil if no socket or slot is available.
    func openUpstream(upstream: Int, node: Int, http2Session: Bool = false) -> Int? {
        let address = plan.nodes[node].address
        let fd = io.openSocket(family: address.family)
        guard fd >= 0 else { return nil }
        guard let (slot, fresh) = upstreamSlots.allocate() else {
            io.close(fd: fd)
            return nil
        }
        var generation: UInt32 = 1
        if fresh {
            upstreamConnections.advanced(by: slot).initialize(to: UpstreamConnection())
        } else {
            generation = (upstreamConnections[slot].generation &+ 1) & 0xFF_FFFF
            upstreamConnections[slot] = UpstreamConnection()
        }
        upstreamConnections[slot].generation = generation
        let deadline = upstreamConnections[slot].connectStarted(fd: fd, upstream: Int32(upstream), node: Int32(node))
        upstreamH2[slot] = HTTP2UpstreamState()
        upstreamH2[slot].sessionSlot = http2Session
        // The kernel reads the address when the ring is submitted, after this returns: point it at the
        // plan's own storage (alive as long as the worker), never at a temporary copy.
        io.connect(
            fd: fd,
            address: plan.socketAddressPointer(node: node),
            length: address.length,
            userData: upstreamData(.upstreamConnect, slot)
        )
        arm(upstream: slot, deadline)
        return slot
    }

    // MARK: - Send

    @inline(__always)
    func sendUpstreamOutput(_ slot: Int) {
        if upstreamH2[slot].isStream {
            upstreamH2Output(slot)
            return
        }
        if upstreamTLS[slot].phase != .none {
            sealUpstreamOutput(slot)
            return
        }
        let u = upstreamConnections[slot]
        upstreamConnections[slot].sending = true
        io.send(
            fd: u.fd,
            buffer: pointer(u.outputSource, u.outputID) + Int(u.outputOffset),
            count: Int(u.outputLength),
            userData: upstreamData(.upstreamSend, slot)
        )
        setDeadline(upstream: slot, .send, after: upstreamPlan(slot).upstreams[Int(u.upstream)].sendTimeout)
    }

    /// The request (or the body bytes in flight) went out in full: release or consume what was
    /// sent, then let the response flow or forward more body.
    func upstreamRequestSent(_ slot: Int) {
        if upstreamConnections[slot].state == .tunneling {
            tunnelUpstreamSent(slot)
            return
        }
        let client = Int(upstreamConnections[slot].client)
        let borrowed = upstreamConnections[slot].outputBorrowed
        let source = upstreamConnections[slot].outputSource
        if !borrowed {
            release(source, upstreamConnections[slot].outputID)
        } else if client >= 0 && upstreamConnections[slot].retainedBlock < 0 {
            // Borrowed bytes were the front of the client's input.
            let sent = Int(clients[client].inputInFlight)
            clients[client].inputInFlight = 0
            consumeClientInput(client, sent)
        }
        upstreamConnections[slot].outputSource = .none
        upstreamConnections[slot].outputBorrowed = false
        upstreamConnections[slot].outputLength = 0
        guard client >= 0 else { return }
        if !upstreamConnections[slot].receiving && !clients[client].sending && !clients[client].responseDone {
            postUpstreamReceive(slot)
            // The send's deadline is over; until the rest of the body arrives, the client's runs.
            if !requestForwarded(slot) { clearDeadline(upstream: slot) }
        } else if upstreamConnections[slot].receiving && requestForwarded(slot) {
            // A pooled connection's receive is already posted: the read timeout starts now.
            setDeadline(
                upstream: slot,
                .read,
                after: upstreamPlan(slot).upstreams[Int(upstreamConnections[slot].upstream)].readTimeout
            )
        } else {
            clearDeadline(upstream: slot)
        }
        if clients[client].requestDone {
            if clients[client].responseDone && !clients[client].sending { finishExchange(client) }
        } else {
            pumpRequestBody(client)
        }
    }

    // MARK: - Receive

    @inline(__always)
    func postUpstreamReceive(_ slot: Int) {
        if upstreamH2[slot].isStream {
            upstreamH2WantResponse(slot)
            return
        }
        if upstreamTLS[slot].phase == .established && upstreamTLS[slot].hasBufferedInput
            && upstreamConnections[slot].state != .pooled
        {
            // Records already received: open them on this loop turn.
            queueUpstreamTLSInput(slot)
            return
        }
        upstreamConnections[slot].receiving = true
        io.receive(
            fd: upstreamConnections[slot].fd,
            userData: upstreamData(.upstreamReceive, slot)
        )
        // A tunnel may wait for the upstream indefinitely: its idle timer runs on the client side.
        guard upstreamConnections[slot].state != .tunneling, requestForwarded(slot) else { return }
        let timeout = upstreamPlan(slot).upstreams[Int(upstreamConnections[slot].upstream)].readTimeout
        setDeadline(upstream: slot, .read, after: timeout)
    }

    /// Whether the whole request has gone to the upstream, which is when its read timeout starts (as
    /// nginx's `proxy_read_timeout` does). Before that the upstream is waiting for the client, whose
    /// `body_timeout` runs instead: a slow upload gets its 408 and does not count as a slow upstream
    /// against the node's circuit.
    @inline(__always)
    func requestForwarded(_ slot: Int) -> Bool {
        let client = Int(upstreamConnections[slot].client)
        return client < 0 || (clients[client].requestDone && upstreamConnections[slot].outputLength == 0)
    }

    /// The client finished sending: continue with stashed or new response bytes.
    func resumeUpstreamResponse(_ slot: Int) {
        if upstreamConnections[slot].pendingBuffer >= 0 {
            let id = upstreamConnections[slot].pendingBuffer
            let length = upstreamConnections[slot].pendingLength
            upstreamConnections[slot].pendingBuffer = -1
            handleUpstreamData(slot, id: id, length: length)
        } else if !upstreamConnections[slot].receiving && upstreamConnections[slot].isConnected {
            postUpstreamReceive(slot)
        }
    }

    /// A pooled connection turned out stale before answering: send the retained request on a new one.
    func retryOnFreshConnection(_ slot: Int) {
        let client = Int(upstreamConnections[slot].client)
        let block = upstreamConnections[slot].retainedBlock
        let length = Int(upstreamConnections[slot].retainedLength)
        let node = Int(upstreamConnections[slot].node)
        let upstream = Int(upstreamConnections[slot].upstream)
        detachRequest(slot, block: block)
        guard let fresh = openUpstream(upstream: upstream, node: node) else {
            blocks.release(block)
            respondWithError(client, status: 502, message: "cannot open a connection to the upstream")
            return
        }
        attachRequest(fresh, client: client, block: block, length: length)
    }

    // MARK: - Upstream failure

    /// The upstream failed before the exchange could complete: answer the client or cut it.
    func upstreamFailed(_ slot: Int, status: Int, message: StaticString) {
        let client = Int(upstreamConnections[slot].client)
        upstreamConnections[slot].client = -1
        closeUpstream(slot)
        guard client >= 0 else { return }
        clients[client].upstream = -1
        if clients[client].responseStarted || clients[client].sending {
            closeClient(client)
            return
        }
        if !clients[client].requestDone { clients[client].closeAfter = true }
        respondWithError(client, status: status, message: message)
    }

    /// The client side failed mid-exchange (bad body, timeout, too large).
    func abortExchange(_ slot: Int, status: Int, message: StaticString) {
        let upstreamSlot = Int(clients[slot].upstream)
        if upstreamSlot >= 0 {
            clients[slot].upstream = -1
            upstreamConnections[upstreamSlot].client = -1
            closeUpstream(upstreamSlot)
        }
        if clients[slot].responseStarted || clients[slot].sending {
            closeClient(slot)
            return
        }
        clients[slot].closeAfter = true
        respondWithError(slot, status: status, message: message)
    }

    // MARK: - Pool

    func takeIdle(node: Int) -> Int? {
        guard let slot = pool.take(node: node) else { return nil }
        telemetry.recordPoolIdle(upstream: Int(upstreamConnections[slot].upstream), delta: -1)
        clearDeadline(upstream: slot)
        upstreamConnections[slot].takenFromPool()
        telemetry.recordUpstreamConnection(node: node, event: .reused)
        upstreamConnections[slot].headLength = 0
        return slot
    }

    /// Unparks a pooled connection that is going away.
    func removeIdle(_ slot: Int) {
        pool.remove(slot: slot)
        telemetry.recordPoolIdle(upstream: Int(upstreamConnections[slot].upstream), delta: -1)
    }

    /// Parks a connection whose exchange completed cleanly, or closes it.
    func releaseUpstream(_ slot: Int) {
        if upstreamH2[slot].isStream {
            // Streams are not pooled: their session is.
            closeUpstream(slot)
            return
        }
        let node = Int(upstreamConnections[slot].node)
        let settings = plan.upstreams[Int(upstreamConnections[slot].upstream)]
        upstreamConnections[slot].requestsServed &+= 1
        guard plan.isLive(node: node),
            upstreamConnections[slot].isReusable(
                maxRequests: settings.poolMaxRequests,
                pooled: pool.count(node: node),
                poolSize: Int(settings.poolSize),
                draining: draining
            )
        else {
            closeUpstream(slot)
            return
        }
        if upstreamConnections[slot].retainedBlock >= 0 {
            blocks.release(upstreamConnections[slot].retainedBlock)
            upstreamConnections[slot].retainedBlock = -1
        }
        let deadline = upstreamConnections[slot].parked()
        pool.park(slot: slot, node: node)
        telemetry.recordPoolIdle(upstream: Int(upstreamConnections[slot].upstream), delta: 1)
        if !upstreamConnections[slot].receiving {
            // Watch the idle connection so an upstream close is noticed before it is reused.
            upstreamConnections[slot].receiving = true
            io.receive(
                fd: upstreamConnections[slot].fd,
                userData: upstreamData(.upstreamReceive, slot)
            )
        }
        arm(upstream: slot, deadline)
    }

    func closeUpstream(_ slot: Int) {
        guard upstreamConnections[slot].state != .closed else { return }
        clearDeadline(upstream: slot)
        if upstreamH2[slot].isStream {
            // A stream on an HTTP/2 session has no socket of its own.
            detachHTTP2Stream(slot)
        } else {
            if upstreamConnections[slot].state == .pooled { removeIdle(slot) }
            let fd = upstreamConnections[slot].fd
            var sendPosted = upstreamConnections[slot].sending
            if upstreamTLS[slot].phase != .none {
                sendPosted = sendPosted || upstreamTLS[slot].sendPosted
                closeUpstreamTLS(slot)
            }
            if upstreamH2[slot].sessionSlot {
                sendPosted = sendPosted || upstreamH2[slot].wireSending || upstreamH2[slot].wireReceiving
                closeUpstreamHTTP2(slot)
            }
            if upstreamConnections[slot].receiving || sendPosted || upstreamConnections[slot].state == .connecting {
                io.cancel(fd: fd)
            }
            io.close(fd: fd)
        }
        if upstreamConnections[slot].outputSource != .none && !upstreamConnections[slot].outputBorrowed {
            release(upstreamConnections[slot].outputSource, upstreamConnections[slot].outputID)
        }
        if upstreamConnections[slot].retainedBlock >= 0 { blocks.release(upstreamConnections[slot].retainedBlock) }
        if upstreamConnections[slot].headBlock >= 0 { blocks.release(upstreamConnections[slot].headBlock) }
        if upstreamConnections[slot].pendingBuffer >= 0 {
            recycleResponseBuffer(upstreamConnections[slot].pendingBuffer)
        }
        upstreamConnections[slot].retainedBlock = -1
        upstreamConnections[slot].headBlock = -1
        upstreamConnections[slot].pendingBuffer = -1
        upstreamConnections[slot].outputSource = .none
        upstreamConnections[slot].closed()
        upstreamSlots.release(slot)
    }
}
