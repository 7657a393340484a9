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
        if slot >= redisTimerBase {
            redisTimerExpired(slot - redisTimerBase)
            return
        }
        if slot >= clientCapacity {
            upstreamTimerExpired(slot - clientCapacity)
            return
        }
        clientTimerExpired(slot)
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
}
