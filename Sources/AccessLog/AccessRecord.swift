/// One request's access-log entry: a fixed-size value with no references, copied into a ring slot.
///
/// Everything a line needs is stored inline: numbers, closed sets (method, protocol), interned strings
/// by index (``AccessLogSymbol``: route, upstream node, error kind, consumer, rejecting plugin, TLS
/// protocol, cipher and client subject, and one plugin-supplied key/value pair) and a bounded text area
/// for the request id, the path and the user agent, and the W3C trace id as two words. Text longer than
/// its area is cut at a UTF-8 boundary and ends with `…` (``AccessRecord/truncationMarker``). Filling a
/// record never allocates.
///
/// The fields are ordered widest first so the record has no padding inside: 539 bytes, a 544-byte ring
/// slot (the 5 bytes between are the tail padding that rounds the size up to the 8-byte alignment).
public struct AccessRecord: Sendable {
    /// ``grpcStatus`` of a response that is not gRPC.
    public static let noGRPCStatus: UInt8 = 0xFF
    /// Bytes reserved for the request id.
    public static let requestIDCapacity = 48
    /// Bytes reserved for the path (with query).
    public static let pathCapacity = 256
    /// Bytes reserved for the user agent.
    public static let userAgentCapacity = 128
    /// Appended (within the capacity) to text that was cut: U+2026 HORIZONTAL ELLIPSIS.
    public static let truncationMarker: [UInt8] = [0xE2, 0x80, 0xA6]

    @usableFromInline static let requestIDOffset = 0
    @usableFromInline static let pathOffset = requestIDCapacity
    @usableFromInline static let userAgentOffset = requestIDCapacity + pathCapacity

    /// Request start, in nanoseconds since the Unix epoch (UTC).
    public var time: Int64
    /// Total time spent on the request, in nanoseconds.
    public var duration: Int64
    /// Time spent waiting for the upstream, in nanoseconds; negative when there was no upstream exchange.
    public var upstreamDuration: Int64
    /// Request bytes received from the client (headers and body).
    public var bytesIn: UInt64
    /// Response bytes sent to the client (headers and body).
    public var bytesOut: UInt64
    /// The W3C trace id's high 64 bits (its first 16 hex digits); 0 with ``traceIDLow`` means no trace.
    /// Written as `trace_id`, 32 lowercase hex digits, only when the id is not 0.
    public var traceIDHigh: UInt64
    /// The W3C trace id's low 64 bits (its last 16 hex digits); 0 with ``traceIDHigh`` means no trace.
    public var traceIDLow: UInt64
    /// The client's address.
    public var client: ClientAddress
    /// Status code sent to the client.
    public var status: UInt16
    /// Status code received from the upstream; 0 when there was none.
    public var upstreamStatus: UInt16
    /// Upstream attempts made (retries + 1); 0 or 1 leaves the field out of lines.
    public var attempts: UInt8
    /// The matched route; ``AccessLogSymbol/none`` when no route matched.
    public var route: AccessLogSymbol
    /// The upstream node (address) the request went to; ``AccessLogSymbol/none`` when none.
    public var upstream: AccessLogSymbol
    /// Why the gateway generated the response itself; ``AccessLogSymbol/none`` otherwise.
    public var error: AccessLogSymbol
    /// The authenticated consumer's username (APISIX consumers); ``AccessLogSymbol/none`` when the
    /// request was not authenticated as a consumer. Written as `consumer`.
    public var consumer: AccessLogSymbol
    /// The name of the plugin that rejected the request (e.g. `key-auth`); ``AccessLogSymbol/none``
    /// when no plugin did. Written as `rejected_by`.
    public var rejectedBy: AccessLogSymbol
    /// The negotiated TLS protocol version as OpenSSL names it (`TLSv1.3`); ``AccessLogSymbol/none`` for
    /// plain HTTP. Written as `tls_protocol`.
    public var tlsProtocol: AccessLogSymbol
    /// The negotiated cipher suite as OpenSSL names it (`TLS_AES_128_GCM_SHA256`,
    /// `ECDHE-ECDSA-AES128-GCM-SHA256`); ``AccessLogSymbol/none`` for plain HTTP. Written as `tls_cipher`.
    public var tlsCipher: AccessLogSymbol
    /// The subject of the verified client certificate (mTLS) in RFC 2253 form (`CN=alice,O=Example`);
    /// ``AccessLogSymbol/none`` without one. Written as `tls_client_subject`.
    public var tlsClientSubject: AccessLogSymbol
    /// The key of the one extra field a plugin may add (``AccessLogField/plugin``);
    /// ``AccessLogSymbol/none`` when no plugin added one.
    ///
    /// The pair is written only when both this and ``pluginFieldValue`` are set, under this name as
    /// the key. Pick a name that is not one of the built-in keys (``AccessLogField``'s raw values):
    /// the line would carry the key twice, and `gateway logs` reads the first one.
    public var pluginFieldName: AccessLogSymbol
    /// The value of the plugin-supplied field named by ``pluginFieldName``; ``AccessLogSymbol/none``
    /// when unset. Interned like every symbol, so it must come from a small set of strings (an
    /// outcome, a tier), never from per-request data.
    public var pluginFieldValue: AccessLogSymbol
    /// The request method.
    public var method: Method
    /// The request's protocol version.
    public var httpVersion: HTTPVersion
    @usableFromInline var requestIDLength: UInt8
    @usableFromInline var userAgentLength: UInt8
    @usableFromInline var pathLength: UInt16
    /// The gRPC status of a response from a `grpc`/`grpcs` upstream (0...16; ``noGRPCStatus``: none).
    public var grpcStatus: UInt8
    @usableFromInline var text: InlineArray<432, UInt8>

    /// A record with every field empty (status 0, no upstream, no text).
    @inlinable
    public init() {
        self.time = 0
        self.duration = 0
        self.upstreamDuration = -1
        self.bytesIn = 0
        self.bytesOut = 0
        self.traceIDHigh = 0
        self.traceIDLow = 0
        self.client = ClientAddress()
        self.status = 0
        self.upstreamStatus = 0
        self.attempts = 0
        self.route = .none
        self.upstream = .none
        self.error = .none
        self.consumer = .none
        self.rejectedBy = .none
        self.tlsProtocol = .none
        self.tlsCipher = .none
        self.tlsClientSubject = .none
        self.pluginFieldName = .none
        self.pluginFieldValue = .none
        self.method = .get
        self.httpVersion = .http1_1
        self.grpcStatus = Self.noGRPCStatus
        self.requestIDLength = 0
        self.userAgentLength = 0
        self.pathLength = 0
        self.text = InlineArray(repeating: 0)
    }

    /// Empties every field without touching the text bytes (their lengths are reset), for reuse in place.
    @inlinable
    public mutating func reset() {
        self.time = 0
        self.duration = 0
        self.upstreamDuration = -1
        self.bytesIn = 0
        self.bytesOut = 0
        self.traceIDHigh = 0
        self.traceIDLow = 0
        self.client = ClientAddress()
        self.status = 0
        self.upstreamStatus = 0
        self.attempts = 0
        self.route = .none
        self.upstream = .none
        self.error = .none
        self.consumer = .none
        self.rejectedBy = .none
        self.tlsProtocol = .none
        self.tlsCipher = .none
        self.tlsClientSubject = .none
        self.pluginFieldName = .none
        self.pluginFieldValue = .none
        self.method = .get
        self.httpVersion = .http1_1
        self.grpcStatus = Self.noGRPCStatus
        self.requestIDLength = 0
        self.userAgentLength = 0
        self.pathLength = 0
    }
}

extension AccessRecord {
    /// The request method, from a closed set so it costs one byte.
    public enum Method: UInt8, Sendable, CaseIterable {
        case get, head, post, put, delete, connect, options, trace, patch, other

        /// The method as it appears on the request line (`OTHER` for methods outside the set).
        public var name: StaticString {
            switch self {
            case .get: return "GET"
            case .head: return "HEAD"
            case .post: return "POST"
            case .put: return "PUT"
            case .delete: return "DELETE"
            case .connect: return "CONNECT"
            case .options: return "OPTIONS"
            case .trace: return "TRACE"
            case .patch: return "PATCH"
            case .other: return "OTHER"
            }
        }
    }

    /// The request's protocol version.
    public enum HTTPVersion: UInt8, Sendable, CaseIterable {
        case http1_0, http1_1, http2, http3

        /// The version as written on a request line, e.g. `HTTP/1.1`.
        public var name: StaticString {
            switch self {
            case .http1_0: return "HTTP/1.0"
            case .http1_1: return "HTTP/1.1"
            case .http2: return "HTTP/2.0"
            case .http3: return "HTTP/3.0"
            }
        }
    }
}
