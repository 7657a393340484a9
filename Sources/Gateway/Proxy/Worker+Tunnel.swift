import Glibc

/// WebSocket and other Upgrade tunnels: after an upstream's 101 to an upgrade the route allows, the
/// client and upstream connections relay bytes both ways without parsing.
///
/// Each direction moves one receive at a time and reads again only once those bytes were sent (the
/// same backpressure as body streaming), with the receive buffers themselves as the send's source, so a
/// tunnel holds at most one buffer per direction and nothing is allocated per byte.
extension Worker {
    // MARK: - Upgrade requests

    /// Whether the request asks for an upgrade `route` allows: an HTTP/1.1 request without a body whose
    /// `Upgrade` header is named in `Connection` and whose every protocol token is in the route's list.
    func allowsUpgrade(_ route: ProxyPlan.Route, _ head: HTTPRequestHead, _ source: UnsafeRawBufferPointer) -> Bool {
        guard route.upgradeLength > 0, head.body == .none, head.versionMinor >= 1 else { return false }
        let allowed = plan.arena(route.upgradeOffset, route.upgradeLength)
        var found = false
        var i = 0
        while i < headers.count {
            if headers.kind(i) == .upgrade {
                // Without `Connection: upgrade` the header is not a request to switch (RFC 9110 §7.8).
                guard headers.isListedInConnection(i) else { return false }
                guard HTTPUpgrade.tokensAllowed(UnsafeRawBufferPointer(rebasing: source[headers.value(i)]), allowed)
                else {
                    return false
                }
                found = true
            }
            i &+= 1
        }
        return found
    }

    // MARK: - Opening

    /// The upstream answered 101 to an allowed upgrade: send the 101 (and any bytes that came after it)
    /// to the client, then relay both ways. `view` starts with the 101 head.
    func startTunnel(_ slot: Int, client: Int, head: HTTPResponseHead, view: UnsafeRawBufferPointer) {
        upstreamConnections[slot].state = .tunneling
        upstreamConnections[slot].reusable = false
        let retained = upstreamConnections[slot].retainedBlock
        if retained >= 0 {
            upstreamConnections[slot].retainedBlock = -1
            if upstreamConnections[slot].outputSource == .block && upstreamConnections[slot].outputID == retained {
                // The request is still being sent: its block goes back when the send completes.
                upstreamConnections[slot].outputBorrowed = false
            } else {
                blocks.release(retained)
            }
        }
        if !upstreamConnections[slot].sending { clearDeadline(upstream: slot) }
        let routeIndex = Int(clients[client].route)
        clients[client].status = 101
        clients[client].upstreamStatus = 101
        clients[client].upstreamEnd = now
        traceStates[client].attemptStatus = 101
        let block = blocks.take()
        guard block >= 0 else {
            upstreamFailed(slot, status: 502, message: "gateway out of memory")
            return
        }
        runHeaderFilter(client, status: 101)
        var writer = HTTPHeadWriter(
            UnsafeMutableRawBufferPointer(start: blocks.pointer(block), count: blocks.blockSize)
        )
        let fitted = HTTPProxyHeads.writeDownstreamResponse(
            head: head,
            source: view,
            headers: headers,
            requestID: requestID(client),
            clientVersionMinor: clients[client].versionMinor,
            closeAfter: false,
            edits: pluginEdits(client),
            upgrade: true,
            into: &writer
        )
        // Bytes the upstream sent right after its 101 belong to the new protocol: they follow the head.
        let rest = UnsafeRawBufferPointer(rebasing: view[head.headLength...])
        guard fitted && !writer.overflowed && rest.count <= blocks.blockSize - writer.count else {
            blocks.release(block)
            upstreamFailed(slot, status: 502, message: "upstream response head too large")
            return
        }
        if rest.count > 0 {
            (blocks.pointer(block) + writer.count).copyMemory(from: rest.baseAddress!, byteCount: rest.count)
            telemetry.recordTunnelBytes(route: routeIndex, toUpstream: false, count: rest.count)
        }
        let route = plan.routes[routeIndex]
        let idle =
            route.tunnelIdleTimeout > 0
            ? route.tunnelIdleTimeout : plan.upstreams[Int(upstreamConnections[slot].upstream)].readTimeout
        clients[client].state = .tunneling
        clients[client].responseStarted = true
        clients[client].closeAfter = true
        clients[client].tunnelStart = now
        clients[client].tunnelActivity = now
        clients[client].tunnelIdleTimeout = idle
        telemetry.recordTunnelOpened(route: routeIndex)
        sendToClient(client, .block, block, length: writer.count + rest.count)
        // Frames the client sent early (after its request head) go up now.
        pumpTunnelToUpstream(client)
    }

    // MARK: - Relaying

    /// Sends the client's pending input upstream, or asks the client for more once the upstream side is
    /// free (never more than one receive's worth in flight).
    func pumpTunnelToUpstream(_ slot: Int) {
        guard clients[slot].state == .tunneling else { return }
        let upstreamSlot = Int(clients[slot].upstream)
        guard upstreamSlot >= 0, !upstreamConnections[upstreamSlot].sending,
            upstreamConnections[upstreamSlot].outputSource == .none
        else { return }
        let input = clientInput(slot)
        guard input.count > 0 else {
            postClientReceive(slot)
            return
        }
        clients[slot].tunnelActivity = now
        telemetry.recordTunnelBytes(route: Int(clients[slot].route), toUpstream: true, count: input.count)
        // Zero-copy: the upstream sends straight from the client's receive buffer.
        clients[slot].inputInFlight = Int32(input.count)
        upstreamConnections[upstreamSlot].outputSource = clients[slot].inputSource
        upstreamConnections[upstreamSlot].outputBorrowed = true
        upstreamConnections[upstreamSlot].outputID = clients[slot].inputID
        upstreamConnections[upstreamSlot].outputOffset = clients[slot].inputOffset
        upstreamConnections[upstreamSlot].outputLength = Int32(input.count)
        sendUpstreamOutput(upstreamSlot)
    }

    /// The upstream took everything it was sent: give the client's bytes back, read the client again.
    func tunnelUpstreamSent(_ slot: Int) {
        let client = Int(upstreamConnections[slot].client)
        if upstreamConnections[slot].outputBorrowed {
            if client >= 0 {
                let sent = Int(clients[client].inputInFlight)
                clients[client].inputInFlight = 0
                consumeClientInput(client, sent)
            }
        } else {
            release(upstreamConnections[slot].outputSource, upstreamConnections[slot].outputID)
        }
        upstreamConnections[slot].outputSource = .none
        upstreamConnections[slot].outputBorrowed = false
        upstreamConnections[slot].outputLength = 0
        clearDeadline(upstream: slot)
        guard client >= 0 else { return }
        pumpTunnelToUpstream(client)
    }

    /// Upstream bytes in receive buffer (or TLS block) `id` go to the client as they are.
    func tunnelToClient(_ slot: Int, client: Int, id: Int32, length: Int) {
        let (source, sourceID) = responseSource(id)
        clients[client].tunnelActivity = now
        telemetry.recordTunnelBytes(route: Int(clients[client].route), toUpstream: false, count: length)
        sendToClient(client, source, sourceID, length: length)
    }

    /// The client took everything it was sent: restart the idle timer and read the upstream again.
    func tunnelClientSent(_ slot: Int) {
        setDeadline(client: slot, .tunnelIdle, after: clients[slot].tunnelIdleTimeout)
        let upstreamSlot = Int(clients[slot].upstream)
        guard upstreamSlot >= 0 else { return }
        resumeUpstreamResponse(upstreamSlot)
    }

    // MARK: - Closing

    /// The idle timer fired: close if nothing moved for the idle timeout, else wait out the rest.
    func tunnelIdleExpired(_ slot: Int) {
        let idle = clients[slot].tunnelIdleTimeout
        let quiet = now &- clients[slot].tunnelActivity
        if quiet < idle {
            setDeadline(client: slot, .tunnelIdle, after: idle - quiet)
            return
        }
        telemetry.recordTimeout(.tunnelIdle)
        clients[slot].errorMessage = "tunnel idle timeout"
        closeClient(slot)
    }

    /// Counts a tunnel's end; runs as its client connection closes, before the access line is written.
    /// A tunnel still open when the drain's time is up counts as closed by the drain: in the metric, and
    /// for the shutdown log line (the control plane stops with the workers, so that count is never
    /// scraped: the log line is where it shows).
    func tunnelClosed(_ slot: Int) {
        let drained = draining && now >= drainDeadline
        telemetry.recordTunnelClosed(
            route: Int(clients[slot].route),
            nanoseconds: now &- clients[slot].tunnelStart,
            drained: drained
        )
        if drained { control.tunnelClosedByDrain(worker: index) }
    }

    /// The drain ended: close the tunnels still open (counted, and logged with why).
    func closeTunnelsAtDrainEnd() {
        for slot in 0..<clientSlots.highWater where clients[slot].state == .tunneling {
            clients[slot].errorMessage = "tunnel closed at the end of the drain"
            closeClient(slot)
        }
    }
}
