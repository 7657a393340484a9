import CNghttp2

/// Reads the HTTP/1.1 response a stream's slot sends back into what nghttp2 submits: the head's fields,
/// the body's payload and the trailers.
package struct HTTP2ResponseReader {
    package enum Phase: UInt8 {
        /// Waiting for a (final or 1xx) head.
        case head
        /// A final head was submitted; body bytes follow.
        case body
        /// The body ended (or there was none).
        case done
    }

    package var phase: Phase = .head
    package var framer = HTTPBodyFramer(.none, limits: HTTPLimits())
    /// Trailer field lines collected from a chunked body (-1: none).
    package var trailerBlock: Int32 = -1
    package var trailerLength: Int32 = 0
    /// EOF was handed to nghttp2.
    package var eofSent = false

    package init() {}

    /// Headers HTTP/2 forbids (RFC 9113 §8.2.2), or that the gateway's HTTP/1.1 framing added.
    @inline(__always)
    static func isConnectionSpecific(_ headers: HTTPHeaderIndex, _ index: Int) -> Bool {
        headers.isHopByHop(index)
    }

    /// Writes the nghttp2 field list of a parsed response `head` from `source` into `fields`: `:status`
    /// then every end-to-end header, names lowercased into `scratch` (values point into `source`).
    /// Returns the field count, or nil if they do not fit.
    package static func writeFields(
        head: HTTPResponseHead,
        source: UnsafeRawBufferPointer,
        headers: HTTPHeaderIndex,
        fields: UnsafeMutablePointer<nghttp2_nv>,
        capacity: Int,
        scratch: UnsafeMutableRawBufferPointer
    ) -> Int? {
        guard capacity > 0, scratch.count >= 3 else { return nil }
        var used = 0
        let status = UInt16(clamping: head.status)
        scratch[0] = UInt8(48 + status / 100 % 10)
        scratch[1] = UInt8(48 + status / 10 % 10)
        scratch[2] = UInt8(48 + status % 10)
        used = 3
        fields[0] = field(Self.statusName, UnsafeRawBufferPointer(rebasing: scratch[0..<3]))
        return appendHeaders(
            headers: headers,
            source: source,
            skipping: nil,
            fields: fields,
            count: 1,
            capacity: capacity,
            scratch: scratch,
            used: used
        )
    }

    /// Adds the end-to-end headers of the head parsed from `source` (but `skipping`) to `fields` from
    /// `count`, names lowercased into `scratch` from `used`; the new count, or nil when they do not fit.
    package static func appendHeaders(
        headers: HTTPHeaderIndex,
        source: UnsafeRawBufferPointer,
        skipping: HTTPHeaderKind?,
        fields: UnsafeMutablePointer<nghttp2_nv>,
        count start: Int,
        capacity: Int,
        scratch: UnsafeMutableRawBufferPointer,
        used first: Int
    ) -> Int? {
        var count = start
        var used = first
        for index in 0..<headers.count where !isConnectionSpecific(headers, index) && headers.kind(index) != skipping {
            let name = headers.name(index)
            guard count < capacity, used + name.count <= scratch.count else { return nil }
            for offset in 0..<name.count {
                scratch[used + offset] = HTTPBytes.lowercased(source[name.lowerBound + offset])
            }
            fields[count] = field(
                UnsafeRawBufferPointer(rebasing: scratch[used..<used + name.count]),
                UnsafeRawBufferPointer(rebasing: source[headers.value(index)])
            )
            used += name.count
            count += 1
        }
        return count
    }

    /// Writes the fields of trailer lines (`name: value\r\n` each) likewise. Lines without a colon are
    /// skipped (the framer has validated them already).
    package static func writeTrailerFields(
        lines: UnsafeMutableRawBufferPointer,
        fields: UnsafeMutablePointer<nghttp2_nv>,
        capacity: Int
    ) -> Int {
        var count = 0
        var start = 0
        let n = lines.count
        while start < n && count < capacity {
            var end = start
            while end < n && lines[end] != HTTPBytes.lf { end += 1 }
            var lineEnd = end
            if lineEnd > start && lines[lineEnd - 1] == HTTPBytes.cr { lineEnd -= 1 }
            var colon = start
            while colon < lineEnd && lines[colon] != HTTPBytes.colon { colon += 1 }
            if colon < lineEnd && colon > start {
                for index in start..<colon { lines[index] = HTTPBytes.lowercased(lines[index]) }
                var valueStart = colon + 1
                while valueStart < lineEnd && HTTPBytes.isWhitespace(lines[valueStart]) { valueStart += 1 }
                var valueEnd = lineEnd
                while valueEnd > valueStart && HTTPBytes.isWhitespace(lines[valueEnd - 1]) { valueEnd -= 1 }
                fields[count] = field(
                    UnsafeRawBufferPointer(rebasing: lines[start..<colon]),
                    UnsafeRawBufferPointer(rebasing: lines[valueStart..<valueEnd])
                )
                count += 1
            }
            start = end + 1
        }
        return count
    }

    // Written once, then only read.
    nonisolated(unsafe) private static let statusName: UnsafeRawBufferPointer = {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 7, alignment: 1)
        bytes.copyBytes(from: ":status".utf8)
        return UnsafeRawBufferPointer(bytes)
    }()

    @inline(__always)
    static func field(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> nghttp2_nv {
        nghttp2_nv(
            name: UnsafeMutablePointer(mutating: name.baseAddress?.assumingMemoryBound(to: UInt8.self)),
            value: UnsafeMutablePointer(mutating: value.baseAddress?.assumingMemoryBound(to: UInt8.self)),
            namelen: name.count,
            valuelen: value.count,
            flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)
        )
    }
}
