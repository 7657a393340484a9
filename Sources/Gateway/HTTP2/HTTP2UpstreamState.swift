/// HTTP/2 state of an upstream slot of a `grpc`/`grpcs` upstream, stored by upstream slot.
///
/// Two kinds of slot: a *session* slot owns the socket (TCP, and TLS for `grpcs`) and the nghttp2 client
/// session; a *stream* slot is one exchange multiplexed on a session, with no socket of its own. Each
/// stream slot runs the ordinary upstream connection machine: the HTTP/1.1 request the worker sends is
/// submitted as HEADERS and DATA on the session, and the response is handed to the machine as HTTP/1.1
/// bytes (a chunked body whose final chunk carries the trailers), so retries, timeouts and the response
/// path are unchanged.
package struct HTTP2UpstreamState {
    /// A session slot (from its connect on): owns the socket and, once connected, the nghttp2 session.
    package var sessionSlot = false
    /// A connected session slot: the nghttp2 session is up (`context.session`).
    package var active = false
    /// A stream slot: its exchange is stream `streamID` of session slot `session`.
    package var isStream = false
    package var session: Int32 = -1
    package var sessionGeneration: UInt32 = 0
    /// Callback context of a session: nghttp2's `user_data` points here (the handler and the slot).
    package var context = HTTP2Connection()
    /// A session's stream slots not yet released, and whether it takes no more (GOAWAY, failure).
    package var openStreams: Int32 = 0
    package var retired = false

    // Frames to the socket.
    /// Frames being sent (-1: none), and what is left of them.
    package var wireBlock: Int32 = -1
    package var wireOffset: Int32 = 0
    package var wireLength: Int32 = 0
    package var wireSending = false
    package var wireReceiving = false
    /// Queued for a flush at the end of this loop turn.
    package var flushQueued = false

    // A stream slot's request.
    /// The stream of the exchange (0: not submitted yet).
    package var streamID: Int32 = 0
    /// The request head was submitted; body bytes are pulled by nghttp2 through the framer.
    package var requestSubmitted = false
    package var requestFramer = HTTPBodyFramer(.none, limits: HTTPLimits())
    package var requestEnded = false
    /// The machine's output not yet taken by nghttp2, and the whole piece.
    package var pendingLength: Int32 = 0
    package var pendingTotal: Int32 = 0
    package var deferred = false
    package var completionQueued = false

    // A stream slot's response, as HTTP/1.1 bytes for the machine.
    /// The head being written (-1: none) and its length; complete once `headDone`.
    package var headBlock: Int32 = -1
    package var headLength: Int32 = 0
    package var status: Int16 = 0
    package var headDone = false
    /// Body payload from ``HTTP2StreamState/bodyReserve`` (-1: none), framed as a chunk when delivered.
    package var fillBlock: Int32 = -1
    package var fillPayload: Int32 = 0
    /// The final chunk with the trailers (-1: none).
    package var trailerBlock: Int32 = -1
    package var trailerLength: Int32 = 0
    package var inTrailers = false
    /// The body is chunked (not a bodiless or trailers-only response).
    package var chunked = false
    /// END_STREAM came; everything left is buffered.
    package var responseEnded = false
    /// The end of the response reached the machine.
    package var endDelivered = false
    /// The stream was reset or closed before its end.
    package var failed = false
    /// The machine asked for response bytes.
    package var wantsResponse = false
    package var deliveryQueued = false
    /// `grpc-status` of the response (from its trailers or a trailers-only head); -1: none.
    package var grpcStatus: Int16 = -1

    package init() {}
}
