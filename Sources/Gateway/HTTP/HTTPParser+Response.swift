extension HTTPParser {
    /// Parses an upstream response head at the start of `buffer`; every error carries status 502.
    ///
    /// `requestMethod` decides bodiless responses (HEAD). The status line is `HTTP/1.x SP 3DIGIT`,
    /// followed by `SP reason` or, tolerated as many servers do, nothing.
    package static func parseResponseHead(
        _ buffer: UnsafeRawBufferPointer,
        headers: HTTPHeaderIndex,
        requestMethod: HTTPMethod,
        limits: HTTPLimits
    ) -> HTTPHeadResult<HTTPResponseHead> {
        headers.reset()
        let n = buffer.count
        guard n > 0 else { return .incomplete }
        let limitEnd = max(0, limits.maxHeaderBytes)

        let searchEnd = min(n, limitEnd)
        var lineEnd = 0
        while lineEnd < searchEnd {
            let byte = buffer[lineEnd]
            if byte == HTTPBytes.cr || byte == HTTPBytes.lf { break }
            lineEnd &+= 1
        }
        // Structure errors win over the terminator and the size limit, so a response reports the
        // same error however it was split across reads.
        let lineComplete = lineEnd < searchEnd
        let cutShort: HTTPHeadResult<HTTPResponseHead> =
            lineComplete
            ? .invalid(.response(.badStatusLine))
            : n > limitEnd ? .invalid(.response(.headerTooLarge)) : .incomplete
        let versionMinor: UInt8
        switch matchVersion(buffer, at: 0, end: lineEnd) {
        case .mismatch: return .invalid(.response(.badStatusLine))
        case .partial: return cutShort
        case .version(let major, let minor):
            guard major == 1 && minor <= 1 else { return .invalid(.response(.badVersion)) }
            versionMinor = minor
        }
        guard lineEnd > 8 else { return cutShort }
        guard buffer[8] == HTTPBytes.sp else { return .invalid(.response(.badStatusLine)) }
        var status = 0
        var p = 9
        while p < 12 && p < lineEnd {
            let digit = buffer[p] &- 0x30
            guard digit < 10 else { return .invalid(.response(.badStatusLine)) }
            status = status &* 10 &+ Int(digit)
            p &+= 1
        }
        guard p == 12 else { return cutShort }
        guard (100...599).contains(status) else { return .invalid(.response(.badStatusLine)) }
        var reasonRange = 12..<12
        if lineEnd > 12 {
            guard buffer[12] == HTTPBytes.sp else { return .invalid(.response(.badStatusLine)) }
            var q = 13
            while q < lineEnd {
                let byte = buffer[q]
                guard byte >= 0x20 && byte != 0x7F || byte == HTTPBytes.htab else {
                    return .invalid(.response(.badStatusLine))
                }
                q &+= 1
            }
            reasonRange = 13..<lineEnd
        }
        guard lineComplete else { return cutShort }
        if buffer[lineEnd] == HTTPBytes.lf { return .invalid(.response(.bareLF)) }
        guard lineEnd &+ 1 < n else { return .incomplete }
        guard buffer[lineEnd &+ 1] == HTTPBytes.lf else { return .invalid(.response(.bareCR)) }

        let headEnd: Int
        switch parseHeaderBlock(
            buffer,
            from: lineEnd &+ 2,
            limitEnd: limitEnd,
            maxCount: limits.maxHeaderCount,
            headers: headers
        ) {
        case .incomplete: return .incomplete
        case .invalid(let reason): return .invalid(.response(reason))
        case .complete(let end): headEnd = end
        }

        let summary = summarize(buffer, headers: headers)
        if let reason = summary.framingError { return .invalid(.response(reason)) }
        if summary.transferEncodingCount > 0 && versionMinor == 0 {
            return .invalid(.response(.unsupportedTransferEncoding))
        }

        let body: HTTPBodyKind
        if requestMethod == .head || status < 200 || status == 204 || status == 304 {
            body = .none
        } else if summary.transferEncodingCount > 0 {
            body = .chunked
        } else if summary.contentLengthCount > 0 {
            body = .contentLength(summary.contentLength)
        } else {
            body = .closeDelimited
        }
        var keepAlive =
            versionMinor == 1 ? !summary.connectionClose : summary.connectionKeepAlive && !summary.connectionClose
        if body == .closeDelimited { keepAlive = false }

        return .complete(
            HTTPResponseHead(
                versionMinor: versionMinor,
                status: status,
                reasonRange: reasonRange,
                headLength: headEnd,
                body: body,
                keepAlive: keepAlive,
                hasRequestID: summary.requestID != nil,
                isInformational: status < 200 && status != 101
            )
        )
    }
}
