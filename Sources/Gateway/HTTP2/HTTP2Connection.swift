import CNghttp2

/// Per-connection state of an HTTP/2 client connection, stored in a worker's slab by client slot (only
/// slots whose ``ClientState`` is `http2` use theirs). nghttp2's `user_data` points at the entry, so it
/// must not move while the session lives.
package struct HTTP2Connection {
    /// The nghttp2 server session (nil: not an HTTP/2 connection).
    package var session: OpaquePointer?
    /// The worker, for the C callbacks.
    package var handler: Unmanaged<HTTP2HandlerBox>?
    /// The connection's client slot (or upstream slot, with `upstream`).
    package var slot: Int32 = -1
    /// The session is the client side of an upstream connection (`scheme: grpc | grpcs`).
    package var upstream = false
    /// Streams with a client slot of their own, not yet closed by nghttp2.
    package var openStreams: Int32 = 0
    /// Consecutive frames without payload, for the empty-frame flood limit.
    package var emptyFrames: Int32 = 0
    /// Encoded frames that did not fit the block being sent: sent next (-1: none).
    package var spillBlock: Int32 = -1
    package var spillLength: Int32 = 0
    /// A GOAWAY was submitted: no new streams; the connection closes once the open ones end.
    package var goaway = false
    /// Close as soon as the output queued so far is sent.
    package var closeWhenFlushed = false
    /// Queued for an output flush at the end of this loop turn.
    package var flushQueued = false
    /// Stream resets the client may still cause before GOAWAY (rapid reset), refilled over time.
    package var resets = HTTP2RateBucket()
    /// PING and SETTINGS frames the client may still send before GOAWAY, likewise.
    package var controlFrames = HTTP2RateBucket()
    /// Why the next GOAWAY we send goes out, for `gateway_http2_goaway_sent_total{reason}`.
    package var goawayReason: HTTP2GoawayReason = .protocolError

    package init() {}
}

/// The `reason` label of `gateway_http2_goaway_sent_total`.
package enum HTTP2GoawayReason: UInt8, CaseIterable, Sendable {
    /// The gateway is shutting down (graceful drain).
    case drain
    /// The connection idled out (`limits.keepalive_timeout` with no open stream).
    case idle
    /// The client broke the protocol (nghttp2 decided the error code).
    case protocolError
    /// Rapid reset (CVE-2023-44487): too many streams reset.
    case rapidReset
    /// SETTINGS, PING, CONTINUATION or empty-frame floods.
    case flood

    package var label: String {
        switch self {
        case .drain: return "drain"
        case .idle: return "idle"
        case .protocolError: return "protocol_error"
        case .rapidReset: return "rapid_reset"
        case .flood: return "flood"
        }
    }
}
