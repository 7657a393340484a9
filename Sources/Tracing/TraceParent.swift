/// A W3C Trace Context `traceparent` value (https://www.w3.org/TR/trace-context/#traceparent-header):
/// `version-traceid-parentid-flags`, read and written without allocating.
public struct TraceParent: Sendable, Equatable {
    /// Bytes of a version-00 value: `00-` + 32 + `-` + 16 + `-` + 2.
    public static let length = 55

    /// The trace id, high 8 bytes.
    public var traceIDHigh: UInt64
    /// The trace id, low 8 bytes.
    public var traceIDLow: UInt64
    /// The caller's span id (`parent-id`).
    public var parentID: UInt64
    /// Trace flags; bit 0 is `sampled`.
    public var flags: UInt8

    public init(traceIDHigh: UInt64, traceIDLow: UInt64, parentID: UInt64, flags: UInt8) {
        self.traceIDHigh = traceIDHigh
        self.traceIDLow = traceIDLow
        self.parentID = parentID
        self.flags = flags
    }

    /// Whether the caller sampled the trace.
    @inlinable
    public var sampled: Bool { flags & 1 != 0 }

    /// Parses a header value, or returns nil for one the specification says to ignore: a wrong length,
    /// upper-case or non-hex digits, version `ff`, an all-zero trace or parent id. A version above 00 is
    /// read by its first four fields, as the specification asks, when it is at least 55 bytes and the
    /// 56th (if any) is `-`; version 00 must be exactly 55 bytes.
    @inlinable
    public static func parse(_ value: UnsafeRawBufferPointer) -> TraceParent? {
        guard value.count >= length else { return nil }
        guard let version = hexByte(value, 0) else { return nil }
        if version == 0xFF { return nil }
        if version == 0 {
            guard value.count == length else { return nil }
        } else if value.count > length && value[length] != UInt8(ascii: "-") {
            return nil
        }
        guard value[2] == UInt8(ascii: "-"), value[35] == UInt8(ascii: "-"), value[52] == UInt8(ascii: "-"),
            let high = hex64(value, 3), let low = hex64(value, 19), let parent = hex64(value, 36),
            let flags = hexByte(value, 53)
        else { return nil }
        guard high | low != 0, parent != 0 else { return nil }
        return TraceParent(traceIDHigh: high, traceIDLow: low, parentID: parent, flags: flags)
    }

    /// Writes the version-00 value with `spanID` as its parent id: exactly ``length`` bytes at `destination`.
    @inlinable
    public static func write(
        traceIDHigh: UInt64,
        traceIDLow: UInt64,
        spanID: UInt64,
        flags: UInt8,
        to destination: UnsafeMutableRawPointer
    ) {
        destination.storeBytes(of: UInt8(ascii: "0"), toByteOffset: 0, as: UInt8.self)
        destination.storeBytes(of: UInt8(ascii: "0"), toByteOffset: 1, as: UInt8.self)
        destination.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 2, as: UInt8.self)
        writeHex(traceIDHigh, digits: 16, to: destination + 3)
        writeHex(traceIDLow, digits: 16, to: destination + 19)
        destination.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 35, as: UInt8.self)
        writeHex(spanID, digits: 16, to: destination + 36)
        destination.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 52, as: UInt8.self)
        writeHex(UInt64(flags), digits: 2, to: destination + 53)
    }

    /// Writes the low `digits` hex digits of `value`, lowercase, most significant first.
    @inlinable
    public static func writeHex(_ value: UInt64, digits: Int, to destination: UnsafeMutableRawPointer) {
        var shifted = value
        var index = digits - 1
        while index >= 0 {
            let nibble = UInt8(truncatingIfNeeded: shifted & 0xF)
            destination.storeBytes(of: nibble < 10 ? 48 + nibble : 87 + nibble, toByteOffset: index, as: UInt8.self)
            shifted >>= 4
            index -= 1
        }
    }

    @inlinable
    static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte &- 48
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte &- 87
        default: nil
        }
    }

    @inlinable
    static func hexByte(_ value: UnsafeRawBufferPointer, _ offset: Int) -> UInt8? {
        guard let high = nibble(value[offset]), let low = nibble(value[offset + 1]) else { return nil }
        return high << 4 | low
    }

    @inlinable
    static func hex64(_ value: UnsafeRawBufferPointer, _ offset: Int) -> UInt64? {
        var result: UInt64 = 0
        for index in offset..<offset + 16 {
            guard let digit = nibble(value[index]) else { return nil }
            result = result << 4 | UInt64(digit)
        }
        return result
    }
}
