/// Base64 and base64url decoding into a caller's buffer, for credentials on the worker (no allocation).
package enum Base64 {
    /// Decodes `text` (standard or URL alphabet, padding optional) into `output`; returns the byte count,
    /// or nil when `text` is not base64 or does not fit.
    package static func decode(_ text: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        var length = text.count
        while length > 0 && text[length - 1] == UInt8(ascii: "=") { length -= 1 }
        if text.count - length > 2 || length % 4 == 1 { return nil }
        guard length / 4 * 3 + 3 <= output.count else { return nil }
        var accumulator: UInt32 = 0
        var bits = 0
        var written = 0
        var index = 0
        while index < length {
            guard let value = sextet(text[index]) else { return nil }
            accumulator = (accumulator << 6) | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output[written] = UInt8(truncatingIfNeeded: accumulator >> UInt32(bits))
                written += 1
            }
            index += 1
        }
        return written
    }

    @inline(__always)
    private static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"), UInt8(ascii: "-"): return 62
        case UInt8(ascii: "/"), UInt8(ascii: "_"): return 63
        default: return nil
        }
    }
}
