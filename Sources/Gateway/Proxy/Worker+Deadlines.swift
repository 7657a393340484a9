extension Worker {
    // MARK: - Client deadlines

    /// How long a lingering close waits for the client's end of stream.
    static var lingerTimeout: UInt64 { 2_000_000_000 }

    @inline(__always)
    func setDeadline(client slot: Int, _ kind: ClientDeadline, after delay: UInt64) {
        clients[slot].deadline = kind
        timers.schedule(slot, at: now &+ delay)
    }

    @inline(__always)
    func clearDeadline(client slot: Int) {
        clients[slot].deadline = .none
        timers.cancel(slot)
    }

    func timerExpired(_ slot: Int) {
        if slot >= clientCapacity {
            upstreamTimerExpired(slot - clientCapacity)
            return
        }
        let kind = clients[slot].deadline
        clients[slot].deadline = .none
        switch kind {
        case .header:
            if clients[slot].headBlock >= 0 || clients[slot].inputSource != .none {
                telemetry.recordTimeout(.clientHeader)
                respondWithError(slot, status: 408, message: "timed out reading the request head")
            } else {
                closeClient(slot)
            }
        case .body:
            telemetry.recordTimeout(.clientBody)
            abortExchange(slot, status: 408, message: "timed out reading the request body")
        case .send:
            telemetry.recordTimeout(.clientSend)
            closeClient(slot)
        case .retryBackoff:
            startRetryAttempt(slot, block: clients[slot].retryBlock, length: clients[slot].retryLength)
        case .keepAlive, .linger, .none:
            closeClient(slot)
        }
    }

    // MARK: - Upstream deadlines

    @inline(__always)
    func setDeadline(upstream slot: Int, _ kind: UpstreamDeadline, after delay: UInt64) {
        upstreamConnections[slot].deadline = kind
        timers.schedule(clientCapacity + slot, at: now &+ delay)
    }

    @inline(__always)
    func clearDeadline(upstream slot: Int) {
        upstreamConnections[slot].deadline = .none
        timers.cancel(clientCapacity + slot)
    }

    func upstreamTimerExpired(_ slot: Int) {
        let kind = upstreamConnections[slot].deadline
        upstreamConnections[slot].deadline = .none
        let node = Int(upstreamConnections[slot].node)
        switch kind {
        case .connect:
            telemetry.recordTimeout(.upstreamConnect)
            telemetry.recordUpstreamConnection(node: node, event: .failed)
            recordOutcome(node: node, .timeout)
            if retryIfPossible(slot, condition: .connectFailure) { return }
            upstreamFailed(slot, status: 504, message: "timed out connecting to the upstream")
        case .send, .read:
            telemetry.recordTimeout(kind == .send ? .upstreamSend : .upstreamRead)
            recordOutcome(node: node, .timeout)
            if !upstreamConnections[slot].responseStarted && retryIfPossible(slot, condition: .timeout) { return }
            let message: StaticString =
                kind == .send ? "timed out sending the request to the upstream" : "timed out waiting for the upstream"
            upstreamFailed(slot, status: 504, message: message)
        case .poolIdle:
            closeUpstream(slot)
        case .none:
            break
        }
    }
}
