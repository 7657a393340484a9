/// Zero-copy HTTP/1.1 head parser: validates a head in a receive buffer and records offsets only.
///
/// Parsing restarts from the buffer's start on every call, so a head that arrives in pieces is
/// re-parsed as it grows; each call is a single pass over the bytes. Nothing allocates.
public enum HTTPParser {
    enum BlockResult {
        case incomplete
        case complete(end: Int)
        case invalid(HTTPParseError.Reason)
    }

    /// Parses header lines starting at `position` up to and including the empty line.
    ///
    /// `limitEnd` is the offset the head must end by; running past it is `headerTooLarge`.
    static func parseHeaderBlock(
        _ buffer: UnsafeRawBufferPointer,
        from position: Int,
        limitEnd: Int,
        maxCount: Int,
        headers: HTTPHeaderIndex
    ) -> BlockResult {
        let scanEnd = min(buffer.count, limitEnd)
        let outOfBytes: BlockResult = buffer.count > limitEnd ? .invalid(.headerTooLarge) : .incomplete
        let maxCount = min(maxCount, headers.capacity)
        var p = position
        while true {
            guard p < scanEnd else { return outOfBytes }
            let first = buffer[p]
            if first == HTTPBytes.cr {
                guard p &+ 1 < scanEnd else { return outOfBytes }
                return buffer[p &+ 1] == HTTPBytes.lf ? .complete(end: p &+ 2) : .invalid(.bareCR)
            }
            if first == HTTPBytes.lf { return .invalid(.bareLF) }
            if HTTPBytes.isWhitespace(first) { return .invalid(.obsFold) }
            if headers.count >= maxCount { return .invalid(.tooManyHeaders) }

            let nameStart = p
            while p < scanEnd, HTTPBytes.isTokenByte(buffer[p]) { p &+= 1 }
            guard p < scanEnd else { return outOfBytes }
            let delimiter = buffer[p]
            if delimiter != HTTPBytes.colon {
                return .invalid(HTTPBytes.isWhitespace(delimiter) ? .whitespaceBeforeColon : .invalidHeaderName)
            }
            if p == nameStart { return .invalid(.invalidHeaderName) }
            let nameEnd = p
            p &+= 1

            while p < scanEnd, HTTPBytes.isWhitespace(buffer[p]) { p &+= 1 }
            let valueStart = p
            var valueEnd = p
            while p < scanEnd {
                let byte = buffer[p]
                if byte == HTTPBytes.cr { break }
                // Field values are VCHAR, SP, HTAB and obs-text; every other control byte is refused.
                if byte >= 0x21 && byte != 0x7F {
                    p &+= 1
                    valueEnd = p
                } else if HTTPBytes.isWhitespace(byte) {
                    p &+= 1
                } else {
                    return .invalid(byte == HTTPBytes.lf ? .bareLF : .invalidHeaderValue)
                }
            }
            guard p &+ 1 < scanEnd else { return outOfBytes }
            if buffer[p &+ 1] != HTTPBytes.lf { return .invalid(.bareCR) }
            p &+= 2
            let range = nameStart..<nameEnd
            headers.append(name: range, value: valueStart..<valueEnd, kind: HTTPHeaderKind(name: buffer, range))
        }
    }

    /// What the semantic pass over a complete header block found.
    struct Summary {
        var hostCount = 0
        var host: Range<Int>?
        var contentLengthCount = 0
        var contentLength: Int64 = 0
        var contentLengthInvalid = false
        var contentLengthList = false
        var transferEncodingCount = 0
        var transferEncodingChunked = false
        var connectionClose = false
        var connectionKeepAlive = false
        var expectContinue = false
        var requestID: Range<Int>?
        var xForwardedFor: Range<Int>?
        var userAgent: Range<Int>?
        var traceparent: Range<Int>?
        var traceparentCount = 0

        var framingError: HTTPParseError.Reason? {
            if contentLengthCount > 0 && transferEncodingCount > 0 { return .clAndTE }
            if contentLengthCount > 1 || contentLengthList { return .duplicateContentLength }
            if contentLengthInvalid { return .invalidContentLength }
            if transferEncodingCount > 1 || (transferEncodingCount == 1 && !transferEncodingChunked) {
                return .unsupportedTransferEncoding
            }
            return nil
        }
    }

    /// One pass over the recorded headers: framing, connection options and the fields the proxy needs.
    static func summarize(_ buffer: UnsafeRawBufferPointer, headers: HTTPHeaderIndex) -> Summary {
        var summary = Summary()
        var i = 0
        while i < headers.count {
            let value = headers.value(i)
            switch headers.kind(i) {
            case .host:
                summary.hostCount &+= 1
                if summary.host == nil { summary.host = value }
            case .contentLength:
                summary.contentLengthCount &+= 1
                switch parseContentLength(buffer, value) {
                case .some(let length): summary.contentLength = length
                case .none:
                    var hasComma = false
                    for index in value where buffer[index] == 0x2C { hasComma = true }
                    if hasComma { summary.contentLengthList = true } else { summary.contentLengthInvalid = true }
                }
            case .transferEncoding:
                summary.transferEncodingCount &+= 1
                summary.transferEncodingChunked = HTTPBytes.equalsIgnoringCase(buffer, value, "chunked")
            case .connection:
                HTTPBytes.forEachListElement(buffer, value) { token in
                    if HTTPBytes.equalsIgnoringCase(buffer, token, "close") {
                        summary.connectionClose = true
                    } else if HTTPBytes.equalsIgnoringCase(buffer, token, "keep-alive") {
                        summary.connectionKeepAlive = true
                    } else {
                        markListed(token, buffer: buffer, headers: headers)
                    }
                }
            case .expect:
                if HTTPBytes.equalsIgnoringCase(buffer, value, "100-continue") { summary.expectContinue = true }
            case .xRequestID:
                if summary.requestID == nil { summary.requestID = value }
            case .xForwardedFor:
                if summary.xForwardedFor == nil { summary.xForwardedFor = value }
            case .traceparent:
                summary.traceparentCount &+= 1
                summary.traceparent = value
            case .other:
                if summary.userAgent == nil, HTTPBytes.equalsIgnoringCase(buffer, headers.name(i), "user-agent") {
                    summary.userAgent = value
                }
            default:
                break
            }
            i &+= 1
        }
        return summary
    }

    private static func markListed(_ token: Range<Int>, buffer: UnsafeRawBufferPointer, headers: HTTPHeaderIndex) {
        var j = 0
        while j < headers.count {
            if HTTPBytes.equalsIgnoringCase(buffer, headers.name(j), token) { headers.markListedInConnection(j) }
            j &+= 1
        }
    }

    /// 1*DIGIT that fits in Int64, nothing else (no sign, no whitespace, no list).
    static func parseContentLength(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int64? {
        if range.isEmpty { return nil }
        var value: Int64 = 0
        for index in range {
            let digit = buffer[index] &- 0x30
            guard digit < 10 else { return nil }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(Int64(digit))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }

    /// Matches `HTTP/d.d` at `position` against the bytes available before `end`: a mismatch, a
    /// prefix that still fits (`partial`), or the two digits.
    static func matchVersion(
        _ buffer: UnsafeRawBufferPointer,
        at position: Int,
        end: Int
    ) -> VersionMatch {
        let pattern: StaticString = "HTTP/0.0"
        let available = min(8, end &- position)
        var k = 0
        while k < available {
            let byte = buffer[position &+ k]
            let expected = pattern.utf8Start[k]
            if expected == 0x30 {
                if byte &- 0x30 >= 10 { return .mismatch }
            } else if byte != expected {
                return .mismatch
            }
            k &+= 1
        }
        if available < 8 { return .partial }
        return .version(major: buffer[position &+ 5] &- 0x30, minor: buffer[position &+ 7] &- 0x30)
    }

    enum VersionMatch {
        case mismatch
        case partial
        case version(major: UInt8, minor: UInt8)
    }
}
