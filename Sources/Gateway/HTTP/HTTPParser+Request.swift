extension HTTPParser {
    /// Parses a request head at the start of `buffer`.
    ///
    /// One CRLF before the request line is skipped (RFC 9112 §2.2, between pipelined requests) and
    /// counted in `headLength`. CONNECT is refused with 501 (the gateway does not tunnel); a request
    /// line longer than the limit is 414 as soon as the buffer holds more than the limit without a CR.
    public static func parseRequestHead(
        _ buffer: UnsafeRawBufferPointer,
        headers: HTTPHeaderIndex,
        limits: HTTPLimits
    ) -> HTTPHeadResult<HTTPRequestHead> {
        headers.reset()
        let n = buffer.count
        guard n > 0 else { return .incomplete }
        var start = 0
        let first = buffer[0]
        if first == HTTPBytes.cr {
            guard n > 1 else { return .incomplete }
            guard buffer[1] == HTTPBytes.lf else { return .invalid(.request(.bareCR)) }
            start = 2
            guard n > 2 else { return .incomplete }
            if buffer[2] == HTTPBytes.cr || buffer[2] == HTTPBytes.lf { return .invalid(.request(.badRequestLine)) }
        } else if first == HTTPBytes.lf {
            return .invalid(.request(.bareLF))
        }

        // Find the end of the request line, looking no further than the limit allows.
        let lineLimit = start &+ max(0, limits.maxRequestLineBytes)
        let searchEnd = min(n, lineLimit &+ 1)
        var lineEnd = start
        while lineEnd < searchEnd {
            let byte = buffer[lineEnd]
            if byte == HTTPBytes.cr || byte == HTTPBytes.lf { break }
            lineEnd &+= 1
        }
        // Structure errors win over the terminator and the length limit, so a request reports the
        // same error however it was split across reads.
        let lineComplete = lineEnd < searchEnd
        let line: RequestLine
        switch parseRequestLine(buffer, start: start, end: lineEnd, complete: lineComplete) {
        case .incomplete: return n > lineLimit ? .invalid(.request(.requestLineTooLong)) : .incomplete
        case .invalid(let reason): return .invalid(.request(reason))
        case .complete(let parsed): line = parsed
        }
        if buffer[lineEnd] == HTTPBytes.lf { return .invalid(.request(.bareLF)) }
        guard lineEnd &+ 1 < n else { return .incomplete }
        guard buffer[lineEnd &+ 1] == HTTPBytes.lf else { return .invalid(.request(.bareCR)) }

        let headEnd: Int
        switch parseHeaderBlock(
            buffer,
            from: lineEnd &+ 2,
            limitEnd: start &+ max(0, limits.maxHeaderBytes),
            maxCount: limits.maxHeaderCount,
            headers: headers
        ) {
        case .incomplete: return .incomplete
        case .invalid(let reason): return .invalid(.request(reason))
        case .complete(let end): headEnd = end
        }

        let summary = summarize(buffer, headers: headers)
        if summary.hostCount > 1 { return .invalid(.request(.duplicateHost)) }
        if summary.hostCount == 0 && line.versionMinor == 1 { return .invalid(.request(.missingHost)) }
        if let host = summary.host {
            for index in host where !HTTPBytes.isHostByte(buffer[index]) {
                return .invalid(.request(.invalidHost))
            }
        }
        if let reason = summary.framingError { return .invalid(.request(reason)) }
        // A 1.0 recipient cannot know chunked framing, so a 1.0 message with Transfer-Encoding is suspect.
        if summary.transferEncodingCount > 0 && line.versionMinor == 0 {
            return .invalid(.request(.unsupportedTransferEncoding))
        }

        let body: HTTPBodyKind
        if summary.transferEncodingCount > 0 {
            body = .chunked
        } else if summary.contentLengthCount > 0 {
            body = .contentLength(summary.contentLength)
        } else {
            body = .none
        }
        let keepAlive =
            line.versionMinor == 1
            ? !summary.connectionClose : summary.connectionKeepAlive && !summary.connectionClose

        return .complete(
            HTTPRequestHead(
                method: line.method,
                methodRange: line.methodRange,
                targetRange: line.targetRange,
                pathRange: line.pathRange,
                queryRange: line.queryRange,
                targetForm: line.targetForm,
                versionMinor: line.versionMinor,
                headLength: headEnd,
                host: line.authority ?? summary.host,
                requestID: summary.requestID,
                xForwardedFor: summary.xForwardedFor,
                userAgent: summary.userAgent,
                // Several traceparent headers are invalid (W3C): the request is treated as having none.
                traceparent: summary.traceparentCount == 1 ? summary.traceparent : nil,
                traceparentSent: summary.traceparentCount > 0,
                body: body,
                keepAlive: keepAlive,
                expectContinue: line.versionMinor == 1 && summary.expectContinue
            )
        )
    }

    struct RequestLine {
        var method: HTTPMethod
        var methodRange: Range<Int>
        var targetRange: Range<Int>
        var pathRange: Range<Int>
        var queryRange: Range<Int>?
        var targetForm: HTTPTargetForm
        var authority: Range<Int>?
        var versionMinor: UInt8
    }

    enum LineResult {
        case incomplete
        case complete(RequestLine)
        case invalid(HTTPParseError.Reason)
    }

    /// Parses `method SP target SP HTTP/1.x` in `start..<end`; when `complete` is false the line's
    /// CR has not arrived yet, so running out of bytes means "wait", not "bad".
    static func parseRequestLine(
        _ buffer: UnsafeRawBufferPointer,
        start: Int,
        end: Int,
        complete: Bool
    ) -> LineResult {
        let cutShort: LineResult = complete ? .invalid(.badRequestLine) : .incomplete
        var p = start
        while p < end, HTTPBytes.isTokenByte(buffer[p]) { p &+= 1 }
        guard p < end else { return cutShort }
        guard buffer[p] == HTTPBytes.sp, p > start else { return .invalid(.badRequestLine) }
        let methodRange = start..<p
        let method = HTTPMethod(parsing: UnsafeRawBufferPointer(rebasing: buffer[methodRange]))
        if method == .connect { return .invalid(.methodNotImplemented) }
        p &+= 1

        let targetStart = p
        // Only visible ASCII is allowed in a target; anything else must be percent-encoded.
        while p < end, buffer[p] &- 0x21 < 0x5E { p &+= 1 }
        guard p < end else { return cutShort }
        guard buffer[p] == HTTPBytes.sp else {
            return .invalid(buffer[p] <= HTTPBytes.sp ? .badRequestLine : .badTarget)
        }
        guard p > targetStart else { return .invalid(.badRequestLine) }
        let targetRange = targetStart..<p
        p &+= 1

        let versionMinor: UInt8
        switch matchVersion(buffer, at: p, end: end) {
        case .mismatch: return .invalid(.badRequestLine)
        case .partial: return cutShort
        case .version(let major, let minor):
            if end &- p != 8 { return .invalid(.badRequestLine) }
            guard complete else { return .incomplete }
            guard major == 1 && minor <= 1 else { return .invalid(.badVersion) }
            versionMinor = minor
        }

        var line = RequestLine(
            method: method,
            methodRange: methodRange,
            targetRange: targetRange,
            pathRange: targetRange,
            queryRange: nil,
            targetForm: .origin,
            authority: nil,
            versionMinor: versionMinor
        )
        if let reason = parseTarget(buffer, into: &line) { return .invalid(reason) }
        return .complete(line)
    }

    /// Splits the target into path and query, checking its form and refusing `..` segments.
    static func parseTarget(_ buffer: UnsafeRawBufferPointer, into line: inout RequestLine) -> HTTPParseError.Reason? {
        let target = line.targetRange
        for index in target where buffer[index] == 0x23 { return .badTarget }  // no fragment in a request
        var pathStart = target.lowerBound
        switch buffer[target.lowerBound] {
        case 0x2F:  // "/"
            line.targetForm = .origin
        case 0x2A:  // "*"
            guard target.count == 1, line.method == .options else { return .badTarget }
            line.targetForm = .asterisk
            line.pathRange = target
            return nil
        default:
            let schemeEnd: Int
            if target.count >= 7,
                HTTPBytes.equalsIgnoringCase(buffer, target.lowerBound..<target.lowerBound &+ 7, "http://")
            {
                schemeEnd = target.lowerBound &+ 7
            } else if target.count >= 8,
                HTTPBytes.equalsIgnoringCase(buffer, target.lowerBound..<target.lowerBound &+ 8, "https://")
            {
                schemeEnd = target.lowerBound &+ 8
            } else {
                return .badTarget
            }
            var p = schemeEnd
            while p < target.upperBound, buffer[p] != 0x2F, buffer[p] != 0x3F {
                // Userinfo (`@`) and anything that is not a host byte is refused.
                guard HTTPBytes.isHostByte(buffer[p]) else { return .badTarget }
                p &+= 1
            }
            guard p > schemeEnd else { return .badTarget }
            line.authority = schemeEnd..<p
            line.targetForm = .absolute
            pathStart = p
        }
        var pathEnd = pathStart
        while pathEnd < target.upperBound, buffer[pathEnd] != 0x3F { pathEnd &+= 1 }
        line.pathRange = pathStart..<pathEnd
        if pathEnd < target.upperBound { line.queryRange = pathEnd &+ 1..<target.upperBound }
        return hasDotDotSegment(buffer, line.pathRange) ? .pathTraversal : nil
    }

    /// True when a path segment is `..`, literally or percent-encoded; `\`, `%2F` and `%5C` also
    /// count as separators because some upstreams decode or normalise them.
    static func hasDotDotSegment(_ buffer: UnsafeRawBufferPointer, _ path: Range<Int>) -> Bool {
        var dots = 0
        var otherBytes = false
        var p = path.lowerBound
        while p < path.upperBound {
            let byte = buffer[p]
            var isSeparator = byte == 0x2F || byte == 0x5C
            var width = 1
            if byte == 0x25 && p &+ 2 < path.upperBound {
                let high = buffer[p &+ 1]
                let low = HTTPBytes.lowercased(buffer[p &+ 2])
                if high == 0x32 && low == 0x65 {  // %2e
                    dots &+= 1
                    p &+= 3
                    continue
                }
                if (high == 0x32 && low == 0x66) || (high == 0x35 && low == 0x63) {  // %2f, %5c
                    isSeparator = true
                    width = 3
                }
            }
            if isSeparator {
                if dots == 2 && !otherBytes { return true }
                dots = 0
                otherBytes = false
            } else if byte == 0x2E {
                dots &+= 1
            } else {
                otherBytes = true
            }
            p &+= width
        }
        return dots == 2 && !otherBytes
    }
}
