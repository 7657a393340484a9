/// The client transitions the worker drives outside I/O completions (a head parsed, a response that
/// ended, a gateway answer, a lingering close). Each sets the state and, where one applies, names the
/// deadline to arm, so a state and its deadline change in one place and are tested without a worker.
extension ClientConnection {
    /// Where a connection goes once its response went out in full.
    package enum AfterResponse: Equatable, Sendable {
        /// Shut the write side and drain what the client still sends, then close.
        case linger
        /// Close now: nothing unread can be lost.
        case close
        /// Parse the next request, already buffered (pipelined); the state is `readingHead`.
        case readBufferedRequest
        /// Wait for the next request holding nothing; the state is `idle`, with `deadline` to arm.
        case awaitRequest(deadline: ClientDeadline)
    }

    /// Bytes arrived on an idle connection: a request head is being read.
    @inline(__always)
    package mutating func requestArrived() {
        state = .readingHead
    }

    /// The deadline to arm when a head is still incomplete after its first bytes: the header timeout,
    /// unless it already runs (a fresh connection's runs from accept). Nil: nothing to arm.
    @inline(__always)
    package var incompleteHeadDeadline: ClientDeadline? {
        deadline == .header ? nil : .header
    }

    /// The request head was parsed and the request is on its way upstream.
    @inline(__always)
    package mutating func exchangeStarted() {
        state = .exchanging
    }

    /// The gateway answers the current request itself with `status`, closing after it if `close`.
    @inline(__always)
    package mutating func gatewayResponseStarted(status: Int16, close: Bool) {
        closeAfter = close
        self.status = status
        state = .responding
        responseStarted = true
    }

    /// The response went out in full: counts the request and moves on. `trimTLSWhenIdle`: a TLS
    /// connection that will idle first gives its record buffers back (`tlsIdleTrim`), then waits out
    /// the keep-alive timeout.
    @inline(__always)
    package mutating func responseFinished(draining: Bool, trimTLSWhenIdle: Bool) -> AfterResponse {
        requestsServed &+= 1
        switch nextStep(draining: draining) {
        case .linger: return .linger
        case .close: return .close
        case .readBufferedRequest:
            route = -1
            state = .readingHead
            return .readBufferedRequest
        case .awaitRequest:
            route = -1
            state = .idle
            return .awaitRequest(deadline: trimTLSWhenIdle ? .tlsIdleTrim : .keepAlive)
        }
    }

    /// The write side is shut after a response the client may still be sending into: its bytes are
    /// read and dropped until it closes or the returned deadline fires.
    @inline(__always)
    package mutating func lingerStarted() -> ClientDeadline {
        state = .lingering
        return .linger
    }

    /// The socket is closed and the slot is about to be freed.
    @inline(__always)
    package mutating func closed() {
        state = .closed
        deadline = .none
        fd = -1
    }
}
