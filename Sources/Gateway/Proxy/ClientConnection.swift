/// Where a run of bytes a connection holds lives: a kernel-provided receive buffer or a pool block.
package enum ByteSource: UInt8 {
    case none = 0
    case provided = 1
    case block = 2
    /// A 4 KiB block (split request heads that are still small).
    case small = 3
}

/// What a downstream (client) connection is doing.
package enum ClientState: UInt8 {
    /// Waiting for the first byte of a request, holding no buffer (a new or keep-alive connection).
    case idle
    /// Collecting and parsing a request head.
    case readingHead
    /// A request is being proxied (request body and/or response still in flight).
    case exchanging
    /// Sending a gateway-generated response; the connection closes or continues after it.
    case responding
    /// Response sent, write side shut: discarding what the client still sends until it closes, so
    /// the kernel does not answer unread bytes with a reset that could destroy the response in flight.
    case lingering
    /// The upstream answered 101 to an allowed upgrade: bytes are relayed both ways unparsed until
    /// either side closes or the tunnel idles out.
    case tunneling
    /// An HTTP/2 connection: its bytes feed an nghttp2 session, and each stream is served on a client
    /// slot of its own (see ``HTTP2StreamState``).
    case http2
    /// Closed; the slot is free.
    case closed
}

/// Per-connection state of a downstream client, stored in a worker's slab and addressed by slot.
///
/// Plain data only (no references), so the slab holds it without ARC and a slot costs a few hundred
/// bytes: an idle keep-alive connection owns no receive buffer.
package struct ClientConnection {
    package var fd: Int32 = -1
    package var generation: UInt32 = 0
    package var state: ClientState = .closed
    /// What the connection's timer is set for.
    package var deadline: ClientDeadline = .none

    /// A receive is posted.
    package var receiving = false
    /// A send to the client is posted.
    package var sending = false
    /// Close once the current response is sent.
    package var closeAfter = false
    /// The current request's body has been fully forwarded upstream.
    package var requestDone = false
    /// The current response has been fully received from the upstream.
    package var responseDone = false
    /// The response head has been sent (after this an error can only close the connection).
    package var responseStarted = false

    // Unprocessed input: bytes of `inputSource`/`inputID` at `inputOffset..<inputOffset+inputLength`.
    package var inputSource: ByteSource = .none
    package var inputID: Int32 = 0
    package var inputOffset: Int32 = 0
    package var inputLength: Int32 = 0
    /// Bytes at the front of the input currently being sent upstream (zero-copy body forwarding).
    package var inputInFlight: Int32 = 0

    /// A block accumulating a request head split across receives (-1: none).
    package var headBlock: Int32 = -1
    package var headLength: Int32 = 0
    /// `headBlock` is a small block.
    package var headSmall = false

    // Output being sent to the client.
    package var outputSource: ByteSource = .none
    package var outputID: Int32 = 0
    package var outputOffset: Int32 = 0
    package var outputLength: Int32 = 0

    /// Upstream connection slot serving the current request (-1: none).
    package var upstream: Int32 = -1
    package var route: Int32 = -1
    /// The worker's plan slot the current request started on (see ``PlanSlots``); valid while `holdsPlan`.
    package var planSlot: UInt8 = 0
    /// The current request holds `planSlot` (from its start until it has been measured and logged).
    package var holdsPlan = false
    package var method: HTTPMethod = .get
    package var versionMinor: UInt8 = 1
    /// The client is an HTTP/1.0 peer receiving a chunked response: the worker dechunks.
    package var dechunk = false
    package var requestFramer = HTTPBodyFramer(.none, limits: HTTPLimits())
    package var requestIDLength: UInt8 = 0
    package var clientAddressLength: UInt8 = 0
    package var status: Int16 = 0
    package var requestsServed: UInt32 = 0
    package var bytesIn: Int64 = 0
    /// Request body payload bytes seen so far (chunk framing excluded).
    package var bodyBytes: Int64 = 0
    package var bytesOut: Int64 = 0
    package var requestStart: UInt64 = 0
    /// A request is being served and has not been measured and logged yet.
    package var active = false
    /// When the request was sent upstream and when the upstream response ended (0: not yet).
    package var upstreamStart: UInt64 = 0
    package var upstreamEnd: UInt64 = 0
    package var upstreamStatus: Int16 = 0
    /// The upstream node that served the request (-1: none).
    package var node: Int32 = -1
    /// Why the gateway answered itself, for the access log (nil: the upstream answered).
    package var errorMessage: StaticString? = nil
    /// Upstream attempts so far (1 after the first), nodes already tried (bit = node - first node).
    package var attempts: UInt8 = 0
    package var triedNodes: UInt64 = 0
    /// When the first attempt started (for `retry_timeout`).
    package var firstAttemptStart: UInt64 = 0
    /// This request counts as a retry in the worker's exchange accounting (the retry budget).
    package var retrying = false
    /// Its current attempt counts toward `node`'s load in the node picker.
    package var exchangeCounted = false
    /// A retry is waiting out its backoff, holding the request block.
    package var retryPending = false
    package var retryBlock: Int32 = -1
    package var retryLength: Int32 = 0
    /// Consistent-hash key of the request.
    package var hashKey: UInt64 = 0
    /// `grpc-status` of the response from a `grpc`/`grpcs` upstream (-1: none).
    package var grpcStatus: Int16 = -1
    /// Accepted on a listener with `http2: true`: a connection preface switches it to HTTP/2 (h2c).
    package var http2Allowed = false
    /// The current request asks for an upgrade its route allows (its `Upgrade` went upstream).
    package var upgrade = false
    /// For a tunnel: when it opened (the 101), when a byte last moved either way, and its idle timeout.
    package var tunnelStart: UInt64 = 0
    package var tunnelActivity: UInt64 = 0
    package var tunnelIdleTimeout: UInt64 = 0

    package init() {}

    /// What a connection does once a response has been sent in full.
    package enum NextStep: Equatable {
        /// Wait for the next request (keep-alive), holding nothing.
        case awaitRequest
        /// Parse the next request, already buffered (pipelined).
        case readBufferedRequest
        /// Close now: nothing unread can be lost.
        case close
        /// Shut the write side and drain what the client still sends before closing, so unread bytes
        /// do not turn the close into a reset that destroys the response in flight.
        case linger
    }

    /// The transition after a complete response, from what is known about the connection.
    @inline(__always)
    package func nextStep(draining: Bool) -> NextStep {
        let unread = !requestDone || inputSource != .none || headBlock >= 0
        if closeAfter || draining || !requestDone { return unread ? .linger : .close }
        return inputSource != .none ? .readBufferedRequest : .awaitRequest
    }
}
