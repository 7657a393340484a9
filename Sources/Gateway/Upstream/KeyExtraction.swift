/// Zero-copy extraction of balancing keys (cookie values, header values) from a request head buffer.
///
/// Results are slices of the input buffer: valid only as long as it is, never copied.
package enum KeyExtraction {
    private static let semicolon = UInt8(ascii: ";")
    private static let equals = UInt8(ascii: "=")
    private static let quote = UInt8(ascii: "\"")

    /// Returns the value of the first cookie called `name` in a `Cookie` header value, or nil.
    ///
    /// Parses RFC 6265's `a=b; c=d` tolerantly: optional spaces and tabs around names, values and
    /// separators, empty pairs and pairs without `=` are skipped, and a value wrapped in double quotes
    /// is returned without them (as Go's net/http does). Names compare byte for byte (cookie names are
    /// case-sensitive). An empty `name` matches nothing; a present but empty value is an empty buffer.
    package static func cookie(
        named name: UnsafeRawBufferPointer,
        in cookieHeaderValue: UnsafeRawBufferPointer
    ) -> UnsafeRawBufferPointer? {
        guard !name.isEmpty else { return nil }
        let header = cookieHeaderValue
        var pairStart = 0
        while pairStart < header.count {
            var pairEnd = pairStart
            while pairEnd < header.count && header[pairEnd] != semicolon { pairEnd &+= 1 }
            var equalsIndex = pairStart
            while equalsIndex < pairEnd && header[equalsIndex] != equals { equalsIndex &+= 1 }
            if equalsIndex < pairEnd {
                let (nameStart, nameEnd) = trimmed(header, pairStart, equalsIndex)
                if nameEnd &- nameStart == name.count && matches(header, nameStart, name) {
                    var (valueStart, valueEnd) = trimmed(header, equalsIndex &+ 1, pairEnd)
                    if valueEnd &- valueStart >= 2 && header[valueStart] == quote && header[valueEnd &- 1] == quote {
                        valueStart &+= 1
                        valueEnd &-= 1
                    }
                    return UnsafeRawBufferPointer(rebasing: header[valueStart..<valueEnd])
                }
            }
            pairStart = pairEnd &+ 1
        }
        return nil
    }

    /// The bounds of `buffer[start..<end]` without leading and trailing spaces and tabs.
    @inline(__always)
    private static func trimmed(_ buffer: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> (Int, Int) {
        var start = start
        var end = end
        while start < end && isWhitespace(buffer[start]) { start &+= 1 }
        while end > start && isWhitespace(buffer[end &- 1]) { end &-= 1 }
        return (start, end)
    }

    @inline(__always)
    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    @inline(__always)
    private static func matches(_ buffer: UnsafeRawBufferPointer, _ start: Int, _ name: UnsafeRawBufferPointer) -> Bool
    {
        for index in 0..<name.count where buffer[start &+ index] != name[index] { return false }
        return true
    }
}
