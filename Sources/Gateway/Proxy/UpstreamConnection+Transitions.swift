/// The upstream transitions the worker drives outside I/O completions (a connect posted, a pooled
/// connection taken, a response head forwarded, a connection parked or closed). Each sets the state and,
/// where one applies, names the deadline to arm.
extension UpstreamConnection {
    /// A connect to `node` of `upstream` was posted on `fd`: the deadline to arm is the connect timeout.
    @inline(__always)
    package mutating func connectStarted(fd: Int32, upstream: Int32, node: Int32) -> UpstreamDeadline {
        self.fd = fd
        self.upstream = upstream
        self.node = node
        state = .connecting
        return .connect
    }

    /// A pooled connection serves a new request: a failure before its answer may be a stale keep-alive
    /// connection (resent elsewhere), not the node's fault.
    @inline(__always)
    package mutating func takenFromPool() {
        state = .exchanging
        reused = true
        reusable = true
    }

    /// The response head went to the client: from now a failure can only cut the client.
    @inline(__always)
    package mutating func responseHeadForwarded() {
        state = .streaming
    }

    /// The exchange ended cleanly and the connection is parked in its node's pool, watched for a close
    /// until the returned deadline (the pool's idle timeout) fires.
    @inline(__always)
    package mutating func parked() -> UpstreamDeadline {
        state = .pooled
        client = -1
        return .poolIdle
    }

    /// The socket is closed and the slot is about to be freed.
    @inline(__always)
    package mutating func closed() {
        state = .closed
        deadline = .none
        fd = -1
    }
}
