import Glibc

/// Byte-level helpers over raw memory for the allocation-free client and upstream.
///
/// Everything here works on preallocated buffers so the benchmarks' own side of the socket adds
/// nothing to `mallocCountTotal`, which counts every thread in the process.
enum RawBytes {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A

    /// Copies a string's UTF-8 into a new buffer; setup only.
    static func copy(_ text: String) -> UnsafeMutableRawBufferPointer {
        let utf8 = Array(text.utf8)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: utf8.count, alignment: 1)
        buffer.copyBytes(from: utf8)
        return buffer
    }

    /// Offset just past the first CRLFCRLF at or after `from`, or nil.
    static func headEnd(_ base: UnsafeMutablePointer<UInt8>, from: Int, count: Int) -> Int? {
        var i = max(0, from)
        while i &+ 3 < count {
            if base[i] == cr && base[i &+ 1] == lf && base[i &+ 2] == cr && base[i &+ 3] == lf { return i &+ 4 }
            i &+= 1
        }
        return nil
    }

    /// Offset of the first CRLF at or after `from`, or nil.
    static func lineEnd(_ base: UnsafeMutablePointer<UInt8>, from: Int, count: Int) -> Int? {
        var i = from
        while i &+ 1 < count {
            if base[i] == cr && base[i &+ 1] == lf { return i }
            i &+= 1
        }
        return nil
    }

    /// Whether the bytes at `at` equal a lowercase ASCII literal, ignoring case.
    static func matches(_ base: UnsafeMutablePointer<UInt8>, at: Int, end: Int, lowercase literal: StaticString) -> Bool
    {
        let length = literal.utf8CodeUnitCount
        guard at &+ length <= end else { return false }
        let expected = literal.utf8Start
        var k = 0
        while k < length {
            var byte = base[at &+ k]
            if byte >= 0x41 && byte <= 0x5A { byte |= 0x20 }
            if byte != expected[k] { return false }
            k &+= 1
        }
        return true
    }

    /// Framing declared by a head in `base[0..<headEnd]`: a Content-Length, or chunked.
    static func framing(_ base: UnsafeMutablePointer<UInt8>, headEnd: Int) -> (contentLength: Int, chunked: Bool) {
        var contentLength = 0
        var chunked = false
        var line = 0
        while let end = lineEnd(base, from: line, count: headEnd), end > line {
            if matches(base, at: line, end: end, lowercase: "content-length:") {
                var p = line &+ 15
                while p < end && base[p] == 0x20 { p &+= 1 }
                while p < end && base[p] >= 0x30 && base[p] <= 0x39 {
                    contentLength = contentLength &* 10 &+ Int(base[p] &- 0x30)
                    p &+= 1
                }
            } else if matches(base, at: line, end: end, lowercase: "transfer-encoding:") {
                var p = line &+ 18
                while p < end && base[p] == 0x20 { p &+= 1 }
                chunked = matches(base, at: p, end: end, lowercase: "chunked")
            }
            line = end &+ 2
        }
        return (contentLength, chunked)
    }

    /// End offset of a complete chunked body starting at `from`, nil while more bytes are needed.
    static func chunkedBodyEnd(_ base: UnsafeMutablePointer<UInt8>, from: Int, count: Int) -> Int? {
        var p = from
        while true {
            guard let sizeEnd = lineEnd(base, from: p, count: count) else { return nil }
            var size = 0
            var q = p
            while q < sizeEnd {
                let byte = base[q] | 0x20
                if byte >= 0x30 && byte <= 0x39 {
                    size = size &* 16 &+ Int(byte &- 0x30)
                } else if byte >= 0x61 && byte <= 0x66 {
                    size = size &* 16 &+ Int(byte &- 0x61 &+ 10)
                } else {
                    break
                }
                q &+= 1
            }
            p = sizeEnd &+ 2
            if size == 0 {
                // Trailer section: an empty line ends it.
                while true {
                    guard let end = lineEnd(base, from: p, count: count) else { return nil }
                    if end == p { return end &+ 2 }
                    p = end &+ 2
                }
            }
            guard p &+ size &+ 2 <= count else { return nil }
            p &+= size &+ 2
        }
    }

    /// Writes every byte or stops the process: a benchmark on a broken connection measures nothing.
    static func writeAll(_ fd: Int32, _ base: UnsafeRawPointer, _ count: Int) {
        var sent = 0
        while sent < count {
            let n = write(fd, base + sent, count &- sent)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { fatalError("write failed: errno \(errno)") }
            sent &+= n
        }
    }
}
