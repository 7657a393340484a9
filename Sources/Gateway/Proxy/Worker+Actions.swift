import Glibc

/// The worker's side of the connection machines: each completion or deadline is handed to the
/// machine of its connection, and the action it returns is carried out here.
extension Worker {
    // MARK: - Client events

    @inline(__always)
    func onClientReceive(_ slot: Int, _ result: Int32, _ flags: UInt32) {
        perform(clients[slot].receiveCompleted(result: result, buffer: Int32(flags >> 16)), client: slot)
    }

    @inline(__always)
    func onClientSend(_ slot: Int, _ result: Int32) {
        perform(clients[slot].sendCompleted(result: result), client: slot)
    }

    func clientTimerExpired(_ slot: Int) {
        perform(clients[slot].deadlineReached(), client: slot)
    }

    @inline(__always)
    func perform(_ action: ClientAction, client slot: Int) {
        switch action {
        case .awaitBuffers:
            // Every receive buffer is busy: try again on the next loop turn rather than fail the client.
            starvedReceives.append(Int32(slot))
        case .processInput:
            processClientInput(slot)
        case .send:
            sendClientOutput(slot)
        case .outputSent(let then):
            clientOutputSent(slot)
            switch then {
            case .idle: break
            case .finishResponse: finishClientResponse(slot)
            case .finishExchange: finishExchange(slot)
            case .resumeUpstream(let upstream): resumeUpstreamResponse(Int(upstream))
            case .resumeTunnel: tunnelClientSent(slot)
            case .resumeHTTP2: http2OutputSent(slot)
            }
        case .respond(let failure):
            telemetry.recordTimeout(failure.timeout)
            respondWithError(slot, status: failure.status, message: failure.message)
        case .abortExchange(let failure):
            telemetry.recordTimeout(failure.timeout)
            abortExchange(slot, status: failure.status, message: failure.message)
        case .startRetry:
            startRetryAttempt(slot, block: clients[slot].retryBlock, length: clients[slot].retryLength)
        case .resumePlugins:
            resumeDelayedRequest(slot)
        case .backendTimeout:
            redisWaitExpired(slot)
        case .trimIdleTLS:
            trimIdleTLS(slot)
        case .tunnelIdle:
            tunnelIdleExpired(slot)
        case .http2Idle:
            http2IdleExpired(slot)
        case .close(let timeout):
            if let timeout { telemetry.recordTimeout(timeout) }
            if timeout == .tlsHandshake { tlsStreams[slot].failure = .timeout }
            closeClient(slot)
        case .discardAndClose(let buffer):
            io.recycleBuffer(UInt16(truncatingIfNeeded: buffer))
            closeClient(slot)
        }
    }

    /// Releases output sent in full and hands the client's timer back to a retry waiting on it.
    @inline(__always)
    func clientOutputSent(_ slot: Int) {
        clearDeadline(client: slot)
        if clients[slot].retryPending {
            // The send used the client's timer; the retry waiting on it starts now instead.
            setDeadline(client: slot, .retryBackoff, after: 0)
        } else if clients[slot].state == .exchanging && !clients[slot].requestDone && clients[slot].receiving {
            // The send (a 100 Continue, or response bytes of a full-duplex exchange) borrowed the timer
            // from a body still being read: the body timeout runs again.
            arm(client: slot, .body)
        }
        release(clients[slot].outputSource, clients[slot].outputID)
        clients[slot].outputSource = .none
        clients[slot].outputLength = 0
    }

    // MARK: - Upstream events

    @inline(__always)
    func onUpstreamConnect(_ slot: Int, _ result: Int32) {
        clearDeadline(upstream: slot)
        perform(upstreamConnections[slot].connectCompleted(result: result), upstream: slot)
    }

    @inline(__always)
    func onUpstreamSend(_ slot: Int, _ result: Int32) {
        perform(upstreamConnections[slot].sendCompleted(result: result), upstream: slot)
    }

    @inline(__always)
    func onUpstreamReceive(_ slot: Int, _ result: Int32, _ flags: UInt32) {
        // A tunnel's upstream timer only ever guards a send, which a receive does not complete.
        if upstreamConnections[slot].state != .tunneling { clearDeadline(upstream: slot) }
        let client = Int(upstreamConnections[slot].client)
        let clientSending = client >= 0 && clients[client].sending
        let action = upstreamConnections[slot].receiveCompleted(
            result: result,
            buffer: Int32(flags >> 16),
            clientSending: clientSending
        )
        perform(action, upstream: slot)
    }

    func upstreamTimerExpired(_ slot: Int) {
        perform(upstreamConnections[slot].deadlineReached(), upstream: slot)
    }

    @inline(__always)
    func perform(_ action: UpstreamAction, upstream slot: Int) {
        switch action {
        case .none:
            break
        case .connected(let sendRequest):
            if upstreamH2[slot].isStream {
                // Its session connected: the stream's request goes.
                if sendRequest { sendUpstreamOutput(slot) }
                return
            }
            telemetry.recordUpstreamConnection(node: Int(upstreamConnections[slot].node), event: .opened)
            if upstreamH2[slot].sessionSlot {
                if !startUpstreamHTTP2(slot) { perform(.fail(.connectionFailed, mayRetry: true), upstream: slot) }
                return
            }
            if sendRequest { sendUpstreamOutput(slot) }
        case .send:
            sendUpstreamOutput(slot)
        case .requestSent:
            upstreamRequestSent(slot)
        case .receive:
            postUpstreamReceive(slot)
        case .forward(let buffer, let length):
            handleUpstreamData(slot, id: buffer, length: length)
        case .endOfResponse:
            let client = Int(upstreamConnections[slot].client)
            clients[client].responseDone = true
            clients[client].upstreamEnd = now
            if !clients[client].sending { finishExchange(client) }
        case .cutClient:
            closeClient(Int(upstreamConnections[slot].client))
        case .resendOnFreshConnection:
            retryOnFreshConnection(slot)
        case .fail(let failure, let mayRetry):
            if upstreamH2[slot].sessionSlot {
                // An HTTP/2 session: each of its streams fails (and may retry) as a connection would.
                if let timeout = failure.timeout { telemetry.recordTimeout(timeout) }
                if failure.isConnectFailure {
                    telemetry.recordUpstreamConnection(node: Int(upstreamConnections[slot].node), event: .failed)
                }
                failHTTP2Session(slot, failure)
                return
            }
            let node = Int(upstreamConnections[slot].node)
            if let timeout = failure.timeout { telemetry.recordTimeout(timeout) }
            if failure.isConnectFailure { telemetry.recordUpstreamConnection(node: node, event: .failed) }
            recordOutcome(node: node, failure.outcome)
            if mayRetry && retryIfPossible(slot, condition: failure.retryCondition) { return }
            upstreamFailed(slot, status: failure.status, message: failure.message)
        case .close:
            closeUpstream(slot)
        case .discardAndClose(let buffer):
            io.recycleBuffer(UInt16(truncatingIfNeeded: buffer))
            closeUpstream(slot)
        }
    }
}
