/// Writes the heads the proxy forwards, rebuilt from a parsed head and its original bytes.
package enum HTTPProxyHeads {
    /// Writes the upstream request head.
    ///
    /// Request line with the original method and target (origin-form; an absolute-form target is
    /// reduced to origin-form) and `HTTP/1.1`; `Host` (original or `hostOverride`) first; all
    /// end-to-end headers in their order except hop-by-hop ones (Connection, Keep-Alive,
    /// Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-Authenticate,
    /// Proxy-Authorization, Expect and any header named in Connection); then X-Forwarded-For (every
    /// existing value, then `clientAddress`), X-Forwarded-Proto (`proto`), X-Forwarded-Host (original
    /// host), exactly one X-Request-Id (`requestID`; none when a plugin removes it, as `request-id` does
    /// when it sends the id under another name), and the framing header for the body kind.
    /// Incoming Host, Content-Length and X-Forwarded-* / X-Request-Id headers are never copied: the
    /// proxy writes its own so a client cannot smuggle a second value past it. No Connection header
    /// is sent (HTTP/1.1 keep-alive is the default).
    ///
    /// With a `traceparent` (the gateway's own, W3C Trace Context) the incoming ones are replaced by it
    /// and `traceparentOffset` is set to where its value starts in the head; `dropTraceState` also leaves
    /// out the incoming `tracestate` (it belonged to a trace the gateway discarded). Without one, both
    /// headers pass through untouched.
    ///
    /// - Returns: false if the head did not fit in the writer's buffer.
    package static func writeUpstreamRequest(
        head: HTTPRequestHead,
        source: UnsafeRawBufferPointer,
        headers: HTTPHeaderIndex,
        hostOverride: UnsafeRawBufferPointer?,
        clientAddress: UnsafeRawBufferPointer,
        proto: StaticString,
        requestID: UnsafeRawBufferPointer,
        edits: PluginEdits = .none,
        upgrade: Bool = false,
        into writer: inout HTTPHeadWriter
    ) -> Bool {
        var unused = -1
        return writeUpstreamRequest(
            head: head,
            source: source,
            headers: headers,
            hostOverride: hostOverride,
            clientAddress: clientAddress,
            proto: proto,
            requestID: requestID,
            edits: edits,
            traceparent: nil,
            dropTraceState: false,
            traceparentOffset: &unused,
            upgrade: upgrade,
            into: &writer
        )
    }

    /// ``writeUpstreamRequest(head:source:headers:hostOverride:clientAddress:proto:requestID:edits:upgrade:into:)``
    /// taking part in a trace.
    ///
    /// With `upgrade` (the route allows the protocol the client asked for) the `Upgrade` header passes
    /// and `Connection: Upgrade` is written; otherwise both are dropped as hop-by-hop.
    package static func writeUpstreamRequest(
        head: HTTPRequestHead,
        source: UnsafeRawBufferPointer,
        headers: HTTPHeaderIndex,
        hostOverride: UnsafeRawBufferPointer?,
        clientAddress: UnsafeRawBufferPointer,
        proto: StaticString,
        requestID: UnsafeRawBufferPointer,
        edits: PluginEdits,
        traceparent: UnsafeRawBufferPointer?,
        dropTraceState: Bool,
        traceparentOffset: inout Int,
        upgrade: Bool = false,
        into writer: inout HTTPHeadWriter
    ) -> Bool {
        let changed = edits.changesRequest
        if changed, let method = edits.last(.method) {
            writer.append(method)
        } else {
            writer.append(source, head.methodRange)
        }
        writer.appendByte(HTTPBytes.sp)
        if changed && (edits.has(.uri) || edits.has(.removeQueryArgument)) {
            writeEditedTarget(head: head, source: source, edits: edits, into: &writer)
        } else {
            writeTarget(head: head, source: source, into: &writer)
        }
        writer.appendStatic(" HTTP/1.1\r\nHost: ")
        if changed, let host = edits.last(.host) {
            writer.append(host)
        } else if let hostOverride {
            writer.append(hostOverride)
        } else if let host = head.host {
            writer.append(source, host)
        }
        writer.appendStatic("\r\n")

        var i = 0
        while i < headers.count {
            let kind = headers.kind(i)
            let skip: Bool
            switch kind {
            case .host, .contentLength, .expect, .xRequestID, .xForwardedFor, .xForwardedProto, .xForwardedHost:
                skip = true
            case .traceparent:
                skip = traceparent != nil
            case .tracestate:
                skip = dropTraceState
            case .upgrade where upgrade:
                skip = false
            default:
                skip =
                    headers.isHopByHop(i)
                    || (changed && edits.drops(response: false, source: source, name: headers.name(i)))
            }
            if !skip { writer.appendHeader(source, name: headers.name(i), value: headers.value(i)) }
            i &+= 1
        }
        if changed { edits.writeHeaders(response: false, into: &writer) }
        if upgrade { writer.appendStatic("Connection: Upgrade\r\n") }
        traceparentOffset = -1
        if let traceparent {
            writer.appendStatic("traceparent: ")
            traceparentOffset = writer.count
            writer.append(traceparent)
            writer.appendStatic("\r\n")
        }
        writeForwardingHeaders(
            head: head,
            source: source,
            headers: headers,
            clientAddress: clientAddress,
            proto: proto,
            requestID: requestID,
            sendRequestID: !(changed && edits.dropsRequestHeader("x-request-id")),
            into: &writer
        )
        return !writer.overflowed
    }

    /// The request target in origin-form, as the client sent it.
    @inline(__always)
    static func writeTarget(head: HTTPRequestHead, source: UnsafeRawBufferPointer, into writer: inout HTTPHeadWriter) {
        switch head.targetForm {
        case .origin, .asterisk:
            writer.append(source, head.targetRange)
        case .absolute:
            if head.pathRange.isEmpty {
                writer.appendByte(0x2F)
            } else {
                writer.append(source, head.pathRange)
            }
            if let query = head.queryRange {
                writer.appendByte(0x3F)
                writer.append(source, query)
            }
        }
    }

    /// A target a plugin rewrote (`.uri`), or the original one without the query arguments it dropped.
    static func writeEditedTarget(
        head: HTTPRequestHead,
        source: UnsafeRawBufferPointer,
        edits: PluginEdits,
        into writer: inout HTTPHeadWriter
    ) {
        if let uri = edits.last(.uri) {
            writer.append(uri)
            return
        }
        if head.pathRange.isEmpty {
            writer.appendByte(0x2F)
        } else {
            writer.append(source, head.pathRange)
        }
        guard let query = head.queryRange else { return }
        var first = true
        PluginRequest.forEachPair(UnsafeRawBufferPointer(rebasing: source[query]), separator: UInt8(ascii: "&")) {
            key,
            value in
            guard !edits.dropsQueryArgument(key) else { return }
            writer.appendByte(first ? 0x3F : 0x26)
            first = false
            writer.append(key)
            // "a=" keeps its "=": the value starts after the key only when there was one.
            if value.count > 0 || value.baseAddress != key.baseAddress.map({ $0 + key.count }) {
                writer.appendByte(0x3D)
                writer.append(value)
            }
        }
    }

    /// X-Forwarded-For (every existing value, then `clientAddress`), X-Forwarded-Proto, X-Forwarded-Host,
    /// X-Request-Id, the body's framing header and the blank line.
    @inline(__always)
    static func writeForwardingHeaders(
        head: HTTPRequestHead,
        source: UnsafeRawBufferPointer,
        headers: HTTPHeaderIndex,
        clientAddress: UnsafeRawBufferPointer,
        proto: StaticString,
        requestID: UnsafeRawBufferPointer,
        sendRequestID: Bool,
        into writer: inout HTTPHeadWriter
    ) {
        writer.appendStatic("X-Forwarded-For: ")
        var i = 0
        while i < headers.count {
            if headers.kind(i) == .xForwardedFor {
                let value = headers.value(i)
                if !value.isEmpty {
                    writer.append(source, value)
                    writer.appendStatic(", ")
                }
            }
            i &+= 1
        }
        writer.append(clientAddress)
        writer.appendStatic("\r\nX-Forwarded-Proto: ")
        writer.appendStatic(proto)
        writer.appendStatic("\r\n")
        if let host = head.host {
            writer.appendStatic("X-Forwarded-Host: ")
            writer.append(source, host)
            writer.appendStatic("\r\n")
        }
        if sendRequestID {
            writer.appendStatic("X-Request-Id: ")
            writer.append(requestID)
            writer.appendStatic("\r\n")
        }
        switch head.body {
        case .contentLength(let length):
            writer.appendStatic("Content-Length: ")
            writer.appendDecimal(Int(length))
            writer.appendStatic("\r\n")
        case .chunked:
            writer.appendStatic("Transfer-Encoding: chunked\r\n")
        case .none, .closeDelimited:
            break
        }
        writer.appendStatic("\r\n")
    }

    /// Whether the client connection must close after this response regardless of keep-alive:
    /// a close-delimited body, or a chunked body dechunked for an HTTP/1.0 client.
    package static func downstreamMustClose(head: HTTPResponseHead, clientVersionMinor: UInt8) -> Bool {
        switch head.body {
        case .closeDelimited: return true
        case .chunked: return clientVersionMinor == 0
        case .none, .contentLength: return false
        }
    }

    /// Writes the downstream response head.
    ///
    /// Status line (`HTTP/1.1`, or `HTTP/1.0` for 1.0 clients) with the upstream's status code and
    /// reason; end-to-end headers without hop-by-hop ones; `X-Request-Id` added if the upstream did
    /// not send one and no plugin asked to omit it (``PluginEdits/Operation/omitRequestID``); Content-Length passed as sent; `Transfer-Encoding: chunked` kept for 1.1 clients
    /// and dropped for 1.0 ones (the proxy dechunks and closes). Final responses get
    /// `Connection: close` when `closeAfter` is true or `downstreamMustClose` says so, and
    /// `Connection: keep-alive` for 1.0 clients that keep alive; interim (1xx) responses get neither.
    /// A 101 to an allowed upgrade (`upgrade`) keeps the upstream's `Upgrade` header and gets
    /// `Connection: Upgrade`.
    ///
    /// - Returns: false if the head did not fit in the writer's buffer.
    package static func writeDownstreamResponse(
        head: HTTPResponseHead,
        source: UnsafeRawBufferPointer,
        headers: HTTPHeaderIndex,
        requestID: UnsafeRawBufferPointer,
        clientVersionMinor: UInt8,
        closeAfter: Bool,
        edits: PluginEdits = .none,
        statusOverride: Int = 0,
        upgrade: Bool = false,
        into writer: inout HTTPHeadWriter
    ) -> Bool {
        writer.appendStatic(clientVersionMinor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        if statusOverride > 0 {
            // A plugin set the status: its standard reason, not the upstream's.
            writer.appendDecimal(statusOverride)
            writer.appendByte(HTTPBytes.sp)
            HTTPStatusText.write(statusOverride, into: &writer)
        } else {
            writer.appendDecimal(head.status)
            writer.appendByte(HTTPBytes.sp)
            writer.append(source, head.reasonRange)
        }
        writer.appendStatic("\r\n")

        let changed = edits.changesResponse
        var chunkedHeader = false
        var i = 0
        while i < headers.count {
            if headers.kind(i) == .transferEncoding { chunkedHeader = true }
            if (!headers.isHopByHop(i) || (upgrade && headers.kind(i) == .upgrade))
                && !(changed && edits.drops(response: true, source: source, name: headers.name(i)))
            {
                writer.appendHeader(source, name: headers.name(i), value: headers.value(i))
            }
            i &+= 1
        }
        if changed { edits.writeHeaders(response: true, into: &writer) }
        // `request-id` may move the id to another header or keep it out of the response.
        if !head.hasRequestID && !edits.has(.omitRequestID) && !(changed && edits.dropsResponseHeader("x-request-id")) {
            writer.appendStatic("X-Request-Id: ")
            writer.append(requestID)
            writer.appendStatic("\r\n")
        }
        // 204 and 1xx must not carry Transfer-Encoding; a HEAD or 304 answer may, describing the GET.
        let interim = head.status < 200
        if chunkedHeader && clientVersionMinor >= 1 && !interim && head.status != 204 {
            writer.appendStatic("Transfer-Encoding: chunked\r\n")
        }
        if upgrade {
            writer.appendStatic("Connection: Upgrade\r\n")
        } else if !interim {
            if closeAfter || downstreamMustClose(head: head, clientVersionMinor: clientVersionMinor) {
                writer.appendStatic("Connection: close\r\n")
            } else if clientVersionMinor == 0 {
                writer.appendStatic("Connection: keep-alive\r\n")
            }
        }
        writer.appendStatic("\r\n")
        return !writer.overflowed
    }
}
