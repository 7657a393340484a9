import AccessLog

/// One finished span as a worker hands it to the exporter: a fixed-size value with no references,
/// copied into a ``SpanRing`` slot, so recording a span never allocates.
///
/// A request makes one server span (``Kind/server``) and one client span per upstream attempt
/// (``Kind/client``), the client spans children of the server span. Attribute names follow
/// OpenTelemetry's HTTP semantic conventions; the exporter turns the fields into them:
/// `http.request.method`, `url.path`, `http.route`, `http.response.status_code`, `server.address`,
/// `network.peer.address`, `error.type`. Text longer than its area is cut at a UTF-8 boundary.
public struct SpanRecord: Sendable {
    /// The span's role, numbered as OTLP's `Span.SpanKind`.
    public enum Kind: UInt8, Sendable {
        /// A request the gateway received.
        case server = 2
        /// One attempt the gateway made to an upstream node.
        case client = 3
    }

    /// Bytes reserved for each text attribute.
    public static let pathCapacity = 128
    public static let routeCapacity = 64
    public static let serverAddressCapacity = 64
    public static let errorTypeCapacity = 32
    @usableFromInline static let pathOffset = 0
    @usableFromInline static let routeOffset = pathCapacity
    @usableFromInline static let serverAddressOffset = routeOffset + routeCapacity
    @usableFromInline static let errorTypeOffset = serverAddressOffset + serverAddressCapacity

    /// The 16-byte trace id, high 8 bytes (big-endian order on the wire: `traceIDHigh` first).
    public var traceIDHigh: UInt64
    /// The 16-byte trace id, low 8 bytes.
    public var traceIDLow: UInt64
    /// This span's id; never 0.
    public var spanID: UInt64
    /// The parent span's id; 0 for a root span.
    public var parentSpanID: UInt64
    /// Start, in nanoseconds since the Unix epoch.
    public var startTime: Int64
    /// End, in nanoseconds since the Unix epoch.
    public var endTime: Int64
    /// The client's address (`network.peer.address`, server spans).
    public var peer: ClientAddress
    /// `http.response.status_code`; 0 when there was no response (the span then carries `error.type`).
    public var status: UInt16
    /// Server or client.
    public var kind: Kind
    /// `http.request.method`.
    public var method: AccessRecord.Method
    /// For client spans, which attempt this was (1 for the first, 2 for the first retry, ...); 0 for server
    /// spans. Exported as `http.request.resend_count` (attempt - 1) when above 1.
    public var attempt: UInt8
    /// W3C trace flags of the span (bit 0: sampled).
    public var traceFlags: UInt8
    @usableFromInline var pathLength: UInt8
    @usableFromInline var routeLength: UInt8
    @usableFromInline var serverAddressLength: UInt8
    @usableFromInline var errorTypeLength: UInt8
    @usableFromInline var text: InlineArray<288, UInt8>

    /// A record with every field empty.
    @inlinable
    public init() {
        self.traceIDHigh = 0
        self.traceIDLow = 0
        self.spanID = 0
        self.parentSpanID = 0
        self.startTime = 0
        self.endTime = 0
        self.peer = ClientAddress()
        self.status = 0
        self.kind = .server
        self.method = .get
        self.attempt = 0
        self.traceFlags = 0
        self.pathLength = 0
        self.routeLength = 0
        self.serverAddressLength = 0
        self.errorTypeLength = 0
        self.text = InlineArray(repeating: 0)
    }

    /// Empties every field without touching the text bytes (their lengths are reset), for reuse in place.
    @inlinable
    public mutating func reset() {
        self.traceIDHigh = 0
        self.traceIDLow = 0
        self.spanID = 0
        self.parentSpanID = 0
        self.startTime = 0
        self.endTime = 0
        self.peer = ClientAddress()
        self.status = 0
        self.kind = .server
        self.method = .get
        self.attempt = 0
        self.traceFlags = 0
        self.pathLength = 0
        self.routeLength = 0
        self.serverAddressLength = 0
        self.errorTypeLength = 0
    }

    /// `url.path` (the query is the caller's to leave out).
    @inlinable
    public mutating func setPath(_ bytes: UnsafeRawBufferPointer) {
        self.pathLength = self.store(bytes, at: Self.pathOffset, capacity: Self.pathCapacity)
    }

    /// `http.route`: the matched route's id.
    @inlinable
    public mutating func setRoute(_ bytes: UnsafeRawBufferPointer) {
        self.routeLength = self.store(bytes, at: Self.routeOffset, capacity: Self.routeCapacity)
    }

    /// `server.address`: the Host of a server span, the node's address of a client span.
    @inlinable
    public mutating func setServerAddress(_ bytes: UnsafeRawBufferPointer) {
        self.serverAddressLength = self.store(
            bytes,
            at: Self.serverAddressOffset,
            capacity: Self.serverAddressCapacity
        )
    }

    /// `error.type`: why the request or attempt failed (a timeout kind, `connect_refused`, ...).
    @inlinable
    public mutating func setErrorType(_ bytes: UnsafeRawBufferPointer) {
        self.errorTypeLength = self.store(bytes, at: Self.errorTypeOffset, capacity: Self.errorTypeCapacity)
    }

    /// Calls `body` with the `url.path` bytes.
    @inlinable
    public func withPath<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try self.withText(at: Self.pathOffset, length: Int(self.pathLength), body)
    }

    /// Calls `body` with the `http.route` bytes.
    @inlinable
    public func withRoute<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try self.withText(at: Self.routeOffset, length: Int(self.routeLength), body)
    }

    /// Calls `body` with the `server.address` bytes.
    @inlinable
    public func withServerAddress<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try self.withText(at: Self.serverAddressOffset, length: Int(self.serverAddressLength), body)
    }

    /// Calls `body` with the `error.type` bytes.
    @inlinable
    public func withErrorType<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try self.withText(at: Self.errorTypeOffset, length: Int(self.errorTypeLength), body)
    }

    @inlinable
    mutating func store(_ bytes: UnsafeRawBufferPointer, at offset: Int, capacity: Int) -> UInt8 {
        var count = min(bytes.count, capacity)
        if count < bytes.count {
            // Cut at a UTF-8 boundary: never leave a continuation byte without its lead.
            while count > 0 && bytes[count] & 0xC0 == 0x80 {
                count -= 1
            }
        }
        withUnsafeMutableBytes(of: &self.text) { text in
            for index in 0..<count {
                text[offset + index] = bytes[index]
            }
        }
        return UInt8(count)
    }

    @inlinable
    func withText<R>(
        at offset: Int,
        length: Int,
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        try withUnsafeBytes(of: self.text) { try body(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + length])) }
    }
}

extension SpanRecord {
    /// Whether the span's trace flags carry W3C's sampled bit.
    @inlinable
    public var isSampled: Bool { self.traceFlags & 1 != 0 }

    /// The trace id as 32 lowercase hex digits (allocates; for tests and tools).
    public var traceIDHex: String { TraceHex.string(self.traceIDHigh) + TraceHex.string(self.traceIDLow) }

    /// The span id as 16 lowercase hex digits (allocates; for tests and tools).
    public var spanIDHex: String { TraceHex.string(self.spanID) }
}

/// Lowercase hex of trace and span ids, as W3C `traceparent` writes them.
public enum TraceHex {
    /// 16 lowercase hex digits of `value`, most significant first (allocates; cold paths).
    public static func string(_ value: UInt64) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<16 {
            bytes[index] = digits[Int((value >> UInt64(60 - index * 4)) & 0xF)]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
