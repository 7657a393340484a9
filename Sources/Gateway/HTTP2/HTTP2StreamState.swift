/// Per-stream state of an HTTP/2 request, stored by the client slot the stream is served on.
///
/// Each stream gets a client slot of its own and is served as an HTTP/1.1 exchange: its request is
/// written as HTTP/1.1 bytes the slot parses as if a socket had sent them, and the HTTP/1.1 response
/// the slot sends is read back into HEADERS, DATA and trailers (``HTTP2ResponseReader``). Routing,
/// plugins, upstream pools, retries, metrics, access lines and traces are then the same code paths.
package struct HTTP2StreamState {
    /// The stream has a client slot (set from the first HEADERS until nghttp2 closes the stream).
    package var live = false
    /// Client slot of the connection, and its generation when the stream opened.
    package var connection: Int32 = -1
    package var connectionGeneration: UInt32 = 0
    package var streamID: Int32 = 0

    // Request side: HTTP/1.1 bytes waiting for the slot to ask for input.
    /// The request head, written as its header fields arrive (-1: none).
    package var headBlock: Int32 = -1
    /// Bytes of regular header lines at the front of `headBlock`.
    package var headLength: Int32 = 0
    /// Pseudo-header values and cookies, stacked from the end of `headBlock` down.
    package var tailLength: Int32 = 0
    package var methodOffset: Int32 = 0
    package var methodLength: Int32 = 0
    package var pathOffset: Int32 = 0
    package var pathLength: Int32 = 0
    package var authorityOffset: Int32 = 0
    package var authorityLength: Int32 = 0
    package var cookieLength: Int32 = 0
    /// Decoded header list size so far (RFC 9113 counting), and whether it went over the limit.
    package var headerListSize: Int32 = 0
    package var headTooLarge = false
    /// A `content-length` came with the request: the body passes as is; otherwise it is chunked.
    package var hasContentLength = false
    /// The head is complete and waits in `readyBlock` (or was delivered).
    package var headDone = false
    /// A complete piece of input (the head) waiting for the slot (-1: none).
    package var readyBlock: Int32 = -1
    package var readyLength: Int32 = 0
    /// Body bytes arriving (-1: none): payload from ``bodyReserve``, framed as one chunk when delivered.
    package var fillBlock: Int32 = -1
    package var fillPayload: Int32 = 0
    /// The final chunk and trailers, when trailers came (-1: none).
    package var trailerBlock: Int32 = -1
    package var trailerLength: Int32 = 0
    /// The client ended its half of the stream (END_STREAM seen).
    package var requestEnded = false
    /// The end of the body (final chunk) is written into the input.
    package var endWritten = false
    /// The slot asked for input and got none yet.
    package var wantsInput = false
    /// Queued to deliver input at the end of this loop turn.
    package var deliveryQueued = false
    /// The request method was HEAD (its response has no body whatever its head says).
    package var isHead = false
    /// The body is passed on chunked (no `content-length` came and the request did not end with its head).
    package var chunked = false
    /// Trailer fields are being received (the HEADERS after DATA).
    package var inTrailers = false
    /// Cookie crumbs joined with "; " (RFC 9113 §8.2.3), in a small block (-1: none).
    package var cookieBlock: Int32 = -1
    /// A status the gateway answers itself once the slot runs (431 for a header list over the limit, 400
    /// for a request without `:method` or `:path`); 0: none.
    package var pendingError: Int16 = 0
    /// nghttp2 closed the stream (ended both ways, or reset).
    package var streamClosed = false
    /// The connection is going away with the stream: nothing more is submitted for it.
    package var connectionGone = false

    // Response side.
    package var response = HTTP2ResponseReader()
    /// The slot's output not yet taken by nghttp2 (`pendingOffset..<pendingOffset+pendingLength` of
    /// the slot's output).
    package var pendingLength: Int32 = 0
    /// The whole output piece, reported as sent once nghttp2 has taken it.
    package var pendingTotal: Int32 = 0
    /// A send completion is queued for the slot.
    package var completionQueued = false
    /// The response (HEADERS) was submitted; its DATA are pulled by nghttp2.
    package var responseSubmitted = false
    /// nghttp2 was told to wait for data (``NGHTTP2_ERR_DEFERRED``): resume when output arrives.
    package var deferred = false
    /// The slot's exchange ended (finished or closed): no more output will come.
    package var slotFinished = false

    /// Bytes kept free at the front of a fill block for the chunk-size line (`%08x\r\n`).
    package static let bodyReserve: Int32 = 10
    /// Bytes kept free at the end of a fill block: the chunk's CRLF and a final `0\r\n\r\n`.
    package static let bodyTrailerReserve: Int32 = 7

    package init() {}
}

extension HTTP2StreamState {
    /// Writes `size` as the 10-byte chunk-size line `%08x\r\n` (leading zeros are valid chunk-size digits).
    package static func writeChunkSize(_ size: Int, to base: UnsafeMutableRawPointer) {
        let digits: StaticString = "0123456789abcdef"
        for index in 0..<8 {
            let nibble = (size >> ((7 - index) * 4)) & 0xF
            base.storeBytes(of: digits.utf8Start[nibble], toByteOffset: index, as: UInt8.self)
        }
        base.storeBytes(of: 0x0D, toByteOffset: 8, as: UInt8.self)
        base.storeBytes(of: 0x0A, toByteOffset: 9, as: UInt8.self)
    }
}
