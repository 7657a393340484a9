/// Bounded writer into a caller-owned buffer; it never allocates and sets `overflowed` instead of
/// writing past the end.
///
/// Once an append does not fit, nothing more is written, so a caller checks `overflowed` once at the end.
package struct HTTPHeadWriter {
    private let buffer: UnsafeMutableRawBufferPointer

    /// Bytes written so far.
    package private(set) var count = 0
    /// Whether some append did not fit; the written bytes are then incomplete.
    package private(set) var overflowed = false

    package init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    /// The bytes written so far.
    package var written: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[0..<count])
    }

    /// Free space left.
    package var remaining: Int {
        buffer.count &- count
    }

    /// Forgets everything written, including an overflow.
    package mutating func reset() {
        count = 0
        overflowed = false
    }

    @inline(__always)
    private mutating func reserve(_ length: Int) -> Bool {
        if overflowed { return false }
        if length > buffer.count &- count {
            overflowed = true
            return false
        }
        return true
    }

    package mutating func appendByte(_ byte: UInt8) {
        guard reserve(1) else { return }
        buffer[count] = byte
        count &+= 1
    }

    package mutating func appendStatic(_ string: StaticString) {
        let length = string.utf8CodeUnitCount
        guard reserve(length) else { return }
        if length > 0 {
            (buffer.baseAddress! + count).copyMemory(from: string.utf8Start, byteCount: length)
        }
        count &+= length
    }

    package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard reserve(bytes.count) else { return }
        if let base = bytes.baseAddress, bytes.count > 0 {
            (buffer.baseAddress! + count).copyMemory(from: base, byteCount: bytes.count)
        }
        count &+= bytes.count
    }

    /// Appends `source[range]`.
    package mutating func append(_ source: UnsafeRawBufferPointer, _ range: Range<Int>) {
        append(UnsafeRawBufferPointer(rebasing: source[range]))
    }

    /// Appends a base-10 integer, with a `-` when negative.
    package mutating func appendDecimal(_ value: Int) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of stack scratch, enough for any Int
        let magnitude = value.magnitude
        withUnsafeMutableBytes(of: &digits) { scratch in
            var v = UInt64(magnitude)
            var index = scratch.count
            repeat {
                index &-= 1
                scratch[index] = UInt8(truncatingIfNeeded: v % 10) &+ 0x30
                v /= 10
            } while v > 0
            if value < 0 {
                index &-= 1
                scratch[index] = 0x2D
            }
            append(UnsafeRawBufferPointer(rebasing: scratch[index...]))
        }
    }

    /// Appends lowercase hex, left-padded with zeros to at least `width` digits (at most 16).
    package mutating func appendHex(_ value: UInt64, width: Int = 0) {
        var digits: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &digits) { scratch in
            var v = value
            var index = scratch.count
            let minStart = scratch.count &- min(max(width, 0), 16)
            repeat {
                index &-= 1
                let nibble = UInt8(truncatingIfNeeded: v & 0xF)
                scratch[index] = nibble < 10 ? nibble &+ 0x30 : nibble &+ 0x57
                v >>= 4
            } while v > 0 || index > minStart
            append(UnsafeRawBufferPointer(rebasing: scratch[index...]))
        }
    }

    /// Appends `name: value\r\n` with both parts taken from `source`.
    package mutating func appendHeader(_ source: UnsafeRawBufferPointer, name: Range<Int>, value: Range<Int>) {
        append(source, name)
        appendStatic(": ")
        append(source, value)
        appendStatic("\r\n")
    }
}
