import Glibc

/// Why an upstream exchange failed before it could complete: the status the client gets, what
/// passive health learns, and which retry condition it matches.
package enum UpstreamFailure: UInt8, Sendable {
    case connectRefused
    case connectTimeout
    case closedWhileSending
    case sendTimeout
    case closedPrematurely
    case connectionFailed
    case readTimeout
    /// The TLS handshake with an `https` node failed (certificate not trusted, name mismatch, no
    /// common version or cipher, or the node closed).
    case tlsHandshakeFailed

    /// The status of the gateway's own answer when the failure reaches the client.
    package var status: Int {
        switch self {
        case .connectTimeout, .sendTimeout, .readTimeout: return 504
        case .connectRefused, .closedWhileSending, .closedPrematurely, .connectionFailed, .tlsHandshakeFailed:
            return 502
        }
    }

    /// The error message of that answer and of the access-log line.
    package var message: StaticString {
        switch self {
        case .connectRefused: return "cannot connect to the upstream"
        case .connectTimeout: return "timed out connecting to the upstream"
        case .closedWhileSending: return "upstream closed the connection while sending the request"
        case .sendTimeout: return "timed out sending the request to the upstream"
        case .closedPrematurely: return "upstream closed the connection prematurely"
        case .connectionFailed: return "upstream connection failed"
        case .readTimeout: return "timed out waiting for the upstream"
        case .tlsHandshakeFailed: return "TLS handshake with the upstream failed"
        }
    }

    /// The `retry_on` condition the failure matches.
    package var retryCondition: ProxyPlan.RetryConditions {
        switch self {
        case .sendTimeout, .readTimeout: return .timeout
        case .connectRefused, .connectTimeout, .closedWhileSending, .closedPrematurely, .connectionFailed,
            .tlsHandshakeFailed:
            return .connectFailure
        }
    }

    /// What passive health counts.
    package var outcome: NodeOutcome {
        switch self {
        case .connectTimeout, .sendTimeout, .readTimeout: return .timeout
        case .connectRefused, .closedWhileSending, .closedPrematurely, .connectionFailed, .tlsHandshakeFailed:
            return .connectFailure
        }
    }

    /// The `gateway_timeouts_total` kind, for timeouts.
    package var timeout: TimeoutKind? {
        switch self {
        case .connectTimeout: return .upstreamConnect
        case .sendTimeout: return .upstreamSend
        case .readTimeout: return .upstreamRead
        default: return nil
        }
    }

    /// The connect itself failed (counted as a failed upstream connection).
    package var isConnectFailure: Bool {
        self == .connectRefused || self == .connectTimeout || self == .tlsHandshakeFailed
    }
}

/// What the worker does for an upstream connection after an event. The machine decides; the worker
/// performs the I/O, the timers and whatever touches the client side.
package enum UpstreamAction: Equatable, Sendable {
    /// Nothing now (for example, response bytes held until the client's send completes).
    case none
    /// The connect succeeded; send the request if it is waiting in the output.
    case connected(sendRequest: Bool)
    /// Send the rest of the output.
    case send
    /// The output was sent in full: hand over to the exchange (response, or more request body).
    case requestSent
    /// Post a receive again (no receive buffer was free).
    case receive
    /// Parse or forward `length` response bytes in receive buffer `buffer`.
    case forward(buffer: Int32, length: Int32)
    /// A close-delimited response body ended with the upstream's close.
    case endOfResponse
    /// The response was cut mid-body: the client can only be cut too.
    case cutClient
    /// A pooled connection that was stale before it answered: send the kept request on a fresh
    /// connection to the same node (not a retry: the node never saw it).
    case resendOnFreshConnection
    /// The exchange failed; try another node first when `mayRetry` and the policy allow it.
    case fail(UpstreamFailure, mayRetry: Bool)
    /// Close the connection (a pooled connection went away or idled out; no client is attached).
    case close
    /// Give back receive buffer `buffer`, then close.
    case discardAndClose(buffer: Int32)
}

extension UpstreamConnection {
    /// The connect completed with `result` (0 or a negative errno).
    @inline(__always)
    package mutating func connectCompleted(result: Int32) -> UpstreamAction {
        guard result == 0 else { return .fail(.connectRefused, mayRetry: true) }
        state = .exchanging
        return .connected(sendRequest: outputSource != .none)
    }

    /// A send completed with `result` bytes (or a negative errno).
    @inline(__always)
    package mutating func sendCompleted(result: Int32) -> UpstreamAction {
        sending = false
        // A tunnel's upstream went away: the client is closed too (not a failure of the node).
        if result <= 0 && state == .tunneling { return .cutClient }
        guard result > 0 else {
            if isStaleBeforeAnswer && !responseStarted { return .resendOnFreshConnection }
            return .fail(.closedWhileSending, mayRetry: !responseStarted)
        }
        if result < outputLength {
            outputOffset += result
            outputLength -= result
            return .send
        }
        return .requestSent
    }

    /// A receive completed with `result` bytes in `buffer` (or 0 at end of stream, or a negative
    /// errno). `clientSending`: the client is still being sent earlier bytes, so new ones wait.
    @inline(__always)
    package mutating func receiveCompleted(result: Int32, buffer: Int32, clientSending: Bool) -> UpstreamAction {
        receiving = false
        if state == .pooled {
            // A pooled connection spoke or closed: it is no longer usable.
            return result > 0 ? .discardAndClose(buffer: buffer) : .close
        }
        if result == -ENOBUFS { return .receive }
        guard result > 0 else { return ended(error: result) }
        if clientSending {
            pendingBuffer = buffer
            pendingLength = result
            return .none
        }
        return .forward(buffer: buffer, length: result)
    }

    /// The upstream closed (0) or failed (a negative errno) while the connection was in use.
    package mutating func ended(error: Int32) -> UpstreamAction {
        guard client >= 0 else { return .close }
        // A tunnel ends with either side: the client is closed too.
        if state == .tunneling { return .cutClient }
        if responseStarted {
            guard error == 0 && responseFramer.isCloseDelimited else { return .cutClient }
            reusable = false
            return .endOfResponse
        }
        if isStaleBeforeAnswer { return .resendOnFreshConnection }
        // Once head bytes arrived the node has answered: sending the request again could repeat it.
        return .fail(error == 0 ? .closedPrematurely : .connectionFailed, mayRetry: headLength == 0)
    }

    /// The connection's timer fired.
    package mutating func deadlineReached() -> UpstreamAction {
        let kind = deadline
        deadline = .none
        switch kind {
        case .connect: return .fail(.connectTimeout, mayRetry: true)
        case .send: return .fail(.sendTimeout, mayRetry: !responseStarted)
        case .read:
            // A tunnel's idleness is the client timer's to judge (bytes may be moving the other way).
            if state == .tunneling { return .none }
            return .fail(.readTimeout, mayRetry: !responseStarted)
        case .poolIdle: return .close
        case .none: return .none
        }
    }

    /// A reused keep-alive connection failed before any response byte while the whole request is
    /// still kept: the upstream had closed it while it sat in the pool.
    @inline(__always)
    package var isStaleBeforeAnswer: Bool { reused && retainedBlock >= 0 && headLength == 0 }
}
