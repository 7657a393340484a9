/// Appends bytes into a caller's buffer (``PluginRequest/scratch``) while a plugin builds a header value or
/// a URI on the worker; running out of room is remembered rather than trapped, so the caller can answer
/// the request with an error instead.
package struct ByteWriter {
    private let buffer: UnsafeMutableRawBufferPointer
    /// Bytes written.
    package private(set) var count = 0
    /// Whether something did not fit.
    package private(set) var overflowed = false

    package init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    /// What was written.
    @inline(__always)
    package var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: buffer.baseAddress, count: count)
    }

    @inline(__always)
    package mutating func append(_ byte: UInt8) {
        guard count < buffer.count else {
            overflowed = true
            return
        }
        buffer[count] = byte
        count &+= 1
    }

    @inline(__always)
    package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        guard bytes.count <= buffer.count &- count else {
            overflowed = true
            return
        }
        (buffer.baseAddress! + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        count &+= bytes.count
    }

    /// Appends `bytes` with every `?` written as `%3F` (a variable's value inside a URI's path).
    package mutating func appendEscapingQuestionMarks(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            if byte == UInt8(ascii: "?") {
                append(UInt8(ascii: "%"))
                append(UInt8(ascii: "3"))
                append(UInt8(ascii: "F"))
            } else {
                append(byte)
            }
        }
    }

    /// Appends `value` in decimal.
    package mutating func append(decimal value: Int) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { scratch in
            var remaining = value.magnitude
            var start = scratch.count
            repeat {
                start &-= 1
                scratch[start] = UInt8(truncatingIfNeeded: remaining % 10) &+ 0x30
                remaining /= 10
            } while remaining > 0
            if value < 0 {
                start &-= 1
                scratch[start] = UInt8(ascii: "-")
            }
            append(UnsafeRawBufferPointer(rebasing: scratch[start...]))
        }
    }
}
