extension Worker {
    // MARK: - Client deadlines

    /// How long a lingering close waits for the client's end of stream.
    static var lingerTimeout: UInt64 { 2_000_000_000 }

    @inline(__always)
    func setDeadline(client slot: Int, _ kind: ClientDeadline, after delay: UInt64) {
        clients[slot].deadline = kind
        timers.schedule(slot, at: now &+ delay)
    }

    /// Arms the client's timer for a deadline a machine transition named, for the time the plan gives
    /// that kind. Kinds whose time depends on the moment (backoff, plugin delay, backend wait, tunnel
    /// idle) are armed with ``setDeadline(client:_:after:)`` by the code that knows it.
    @inline(__always)
    func arm(client slot: Int, _ kind: ClientDeadline) {
        switch kind {
        case .header: setDeadline(client: slot, kind, after: plan.headerTimeout)
        case .keepAlive: setDeadline(client: slot, kind, after: plan.keepaliveTimeout)
        case .body: setDeadline(client: slot, kind, after: requestPlan(slot).bodyTimeout)
        case .send: setDeadline(client: slot, kind, after: plan.sendTimeout)
        case .linger: setDeadline(client: slot, kind, after: Self.lingerTimeout)
        case .tlsIdleTrim: setDeadline(client: slot, kind, after: Self.tlsIdleTrimDelay)
        case .tlsHandshake: setDeadline(client: slot, kind, after: plan.tlsHandshakeTimeout)
        case .none: clearDeadline(client: slot)
        case .retryBackoff, .pluginDelay, .backendWait, .tunnelIdle:
            assertionFailure("\(kind) has no fixed time: arm it with setDeadline(client:_:after:)")
        }
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

    /// Arms an upstream connection's timer for a deadline a machine transition named, for the time its
    /// upstream's settings give that kind (from the plan its request started on).
    @inline(__always)
    func arm(upstream slot: Int, _ kind: UpstreamDeadline) {
        let settings = upstreamPlan(slot).upstreams[Int(upstreamConnections[slot].upstream)]
        switch kind {
        case .connect: setDeadline(upstream: slot, kind, after: settings.connectTimeout)
        case .send: setDeadline(upstream: slot, kind, after: settings.sendTimeout)
        case .read: setDeadline(upstream: slot, kind, after: settings.readTimeout)
        case .poolIdle: setDeadline(upstream: slot, kind, after: settings.poolIdleTimeout)
        case .none: clearDeadline(upstream: slot)
        }
    }

    @inline(__always)
    func clearDeadline(upstream slot: Int) {
        upstreamConnections[slot].deadline = .none
        timers.cancel(clientCapacity + slot)
    }
}
