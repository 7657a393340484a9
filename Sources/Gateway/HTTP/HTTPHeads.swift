/// How a message body is delimited.
package enum HTTPBodyKind: Equatable, Sendable {
    case none
    case contentLength(Int64)
    case chunked
    /// Ends when the sender closes the connection (responses only).
    case closeDelimited
}

/// The shape of a request target (RFC 9112 §3.2).
package enum HTTPTargetForm: UInt8, Equatable, Sendable {
    /// `/path?query`
    case origin
    /// `http://authority/path?query`
    case absolute
    /// `*`, OPTIONS only
    case asterisk
}

/// A parsed request head; all ranges are byte offsets into the buffer that was parsed.
public struct HTTPRequestHead: Equatable, Sendable {
    package var method: HTTPMethod
    package var methodRange: Range<Int>
    /// The target exactly as sent.
    package var targetRange: Range<Int>
    /// The target's path without the query (for absolute-form: the path after the authority, possibly empty).
    package var pathRange: Range<Int>
    /// The query without its `?`; nil when the target has no `?`.
    package var queryRange: Range<Int>?
    package var targetForm: HTTPTargetForm
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    package var versionMinor: UInt8
    /// Bytes from the start of the buffer to the end of the final CRLFCRLF, including a skipped leading CRLF.
    package var headLength: Int
    /// Host header value, or the authority of an absolute-form target (which takes precedence).
    package var host: Range<Int>?
    /// The first X-Request-Id value.
    package var requestID: Range<Int>?
    /// The first X-Forwarded-For value.
    package var xForwardedFor: Range<Int>?
    /// The first User-Agent value.
    package var userAgent: Range<Int>?
    /// The `traceparent` value when exactly one was sent (W3C Trace Context).
    package var traceparent: Range<Int>?
    /// At least one `traceparent` header was sent (valid or not).
    package var traceparentSent: Bool
    /// `.none`, `.contentLength` or `.chunked`; never `.closeDelimited`.
    package var body: HTTPBodyKind
    /// Whether the connection may serve another request after this one.
    package var keepAlive: Bool
    /// `Expect: 100-continue` on an HTTP/1.1 request.
    package var expectContinue: Bool
}

/// A parsed response head; ranges are byte offsets into the buffer that was parsed.
package struct HTTPResponseHead: Equatable, Sendable {
    package var versionMinor: UInt8
    package var status: Int
    /// The reason phrase, possibly empty.
    package var reasonRange: Range<Int>
    /// Bytes from the start of the buffer to the end of the final CRLFCRLF.
    package var headLength: Int
    /// `.none` for HEAD requests, 1xx, 204 and 304; `.closeDelimited` when neither CL nor chunked.
    package var body: HTTPBodyKind
    /// Whether the upstream connection may be reused after this response.
    package var keepAlive: Bool
    package var hasRequestID: Bool
    /// A 1xx response other than 101: the final response follows on the same connection.
    package var isInformational: Bool
}

/// The outcome of parsing a head from a possibly partial buffer.
public enum HTTPHeadResult<Head> {
    /// More bytes are needed; nothing is wrong yet.
    case incomplete
    case complete(Head)
    case invalid(HTTPParseError)
}

extension HTTPHeadResult: Equatable where Head: Equatable {}
extension HTTPHeadResult: Sendable where Head: Sendable {}
