/// An exemplar's label value (for example a request id) held inline in 64 bytes, with an optional
/// W3C trace id.
///
/// Build it once per request where the id is made; recording it then copies ten words, with no
/// allocation and no reference counting. Longer values are cut at 64 bytes. A non-zero trace id is
/// exposed as a second exemplar label, `trace_id`, so a latency spike links to its trace.
public struct ExemplarLabel: Sendable {
    /// The most bytes kept.
    public static let capacity = 64

    package var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// How many bytes are used.
    public private(set) var count = 0
    /// The trace id's high 64 bits (its first 16 hex digits); 0 with ``traceIDLow`` means no trace.
    public var traceIDHigh: UInt64 = 0
    /// The trace id's low 64 bits (its last 16 hex digits); 0 with ``traceIDHigh`` means no trace.
    public var traceIDLow: UInt64 = 0

    /// Copies up to 64 bytes of UTF-8 (or any bytes; they are rendered as UTF-8), with no trace id.
    public init(bytes: UnsafeRawBufferPointer) {
        let count = min(bytes.count, Self.capacity)
        withUnsafeMutableBytes(of: &self.words) { storage in
            for index in 0..<count {
                storage[index] = bytes[index]
            }
        }
        self.count = count
    }

    /// Copies up to 64 bytes and keeps the 128-bit trace id (both words 0: no trace).
    @inline(__always)
    public init(bytes: UnsafeRawBufferPointer, traceIDHigh: UInt64, traceIDLow: UInt64) {
        self.init(bytes: bytes)
        self.traceIDHigh = traceIDHigh
        self.traceIDLow = traceIDLow
    }

    /// Copies up to 64 bytes of the string's UTF-8.
    public init(_ value: String) {
        var copy = value
        self = copy.withUTF8 { ExemplarLabel(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// The value as text.
    public var value: String {
        var words = self.words
        return withUnsafeBytes(of: &words) { String(decoding: $0[0..<self.count], as: UTF8.self) }
    }
}
