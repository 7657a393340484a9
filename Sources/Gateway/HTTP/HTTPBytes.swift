/// Byte-level helpers shared by the HTTP codec; all are allocation-free and work on raw buffers.
enum HTTPBytes {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let sp: UInt8 = 0x20
    static let htab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A

    /// RFC 9110 `tchar`, as a 128-bit set split over two words.
    @inline(__always)
    static func isTokenByte(_ byte: UInt8) -> Bool {
        if byte < 64 { return (0x03ff_6cfa_0000_0000 as UInt64) >> UInt64(byte) & 1 == 1 }
        if byte < 128 { return (0x57ff_ffff_c7ff_fffe as UInt64) >> UInt64(byte &- 64) & 1 == 1 }
        return false
    }

    /// Bytes allowed in a Host value: reg-name, IP literals and a port (RFC 3986 §3.2.2).
    @inline(__always)
    static func isHostByte(_ byte: UInt8) -> Bool {
        if byte < 64 { return (0x2fff_7ff2_0000_0000 as UInt64) >> UInt64(byte) & 1 == 1 }
        if byte < 128 { return (0x47ff_fffe_afff_fffe as UInt64) >> UInt64(byte &- 64) & 1 == 1 }
        return false
    }

    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == sp || byte == htab
    }

    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    /// Value of a hex digit, or nil.
    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        if byte &- 0x30 < 10 { return byte &- 0x30 }
        let lower = byte | 0x20
        if lower &- 0x61 < 6 { return lower &- 0x61 &+ 10 }
        return nil
    }

    /// Exact, case-sensitive comparison with a literal.
    @inline(__always)
    static func equals(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count == count else { return false }
        let literalBytes = literal.utf8Start
        var index = 0
        while index < count {
            if bytes[index] != literalBytes[index] { return false }
            index &+= 1
        }
        return true
    }

    /// ASCII case-insensitive comparison of `buffer[range]` with a lowercase literal.
    @inline(__always)
    static func equalsIgnoringCase(
        _ buffer: UnsafeRawBufferPointer,
        _ range: Range<Int>,
        _ lowercaseLiteral: StaticString
    ) -> Bool {
        let count = lowercaseLiteral.utf8CodeUnitCount
        guard range.count == count else { return false }
        let literalBytes = lowercaseLiteral.utf8Start
        var index = 0
        while index < count {
            if lowercased(buffer[range.lowerBound &+ index]) != literalBytes[index] { return false }
            index &+= 1
        }
        return true
    }

    /// ASCII case-insensitive comparison of a whole byte run (a header name) with a lowercase literal.
    @inline(__always)
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercaseLiteral: StaticString) -> Bool {
        equalsIgnoringCase(bytes, 0..<bytes.count, lowercaseLiteral)
    }

    /// The byte length of a literal, for sizing what it will be copied into.
    @inline(__always)
    static func length(_ literal: StaticString) -> Int {
        literal.utf8CodeUnitCount
    }

    /// ASCII case-insensitive comparison of two byte runs.
    @inline(__always)
    static func equalsIgnoringCase(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var index = 0
        while index < lhs.count {
            if lowercased(lhs[index]) != lowercased(rhs[index]) { return false }
            index &+= 1
        }
        return true
    }

    /// ASCII case-insensitive comparison of two ranges of the same buffer.
    @inline(__always)
    static func equalsIgnoringCase(_ buffer: UnsafeRawBufferPointer, _ lhs: Range<Int>, _ rhs: Range<Int>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var index = 0
        while index < lhs.count {
            if lowercased(buffer[lhs.lowerBound &+ index]) != lowercased(buffer[rhs.lowerBound &+ index]) {
                return false
            }
            index &+= 1
        }
        return true
    }

    /// `range` without leading and trailing SP/HTAB.
    @inline(__always)
    static func trimmed(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound
        var upper = range.upperBound
        while lower < upper, isWhitespace(buffer[lower]) { lower &+= 1 }
        while upper > lower, isWhitespace(buffer[upper &- 1]) { upper &-= 1 }
        return lower..<upper
    }

    /// Calls `body` with each non-empty, trimmed element of a comma-separated list (RFC 9110 §5.6.1).
    @inline(__always)
    static func forEachListElement(
        _ buffer: UnsafeRawBufferPointer,
        _ range: Range<Int>,
        _ body: (Range<Int>) -> Void
    ) {
        var elementStart = range.lowerBound
        var index = range.lowerBound
        while index <= range.upperBound {
            if index == range.upperBound || buffer[index] == 0x2C {
                let element = trimmed(buffer, elementStart..<index)
                if !element.isEmpty { body(element) }
                elementStart = index &+ 1
            }
            index &+= 1
        }
    }
}
