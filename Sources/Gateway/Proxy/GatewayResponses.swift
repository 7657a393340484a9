/// The responses the gateway writes itself: its JSON error, the `mocking` plugin's answer, and
/// `100 Continue`. Pure writers into a caller's buffer: no connection state, no I/O, no allocation.
package enum GatewayResponses {
    /// Writes an error response whose body is
    /// `{"error":…,"upstream":…,"status":N,"request_id":…,"trace_id":…}` (`upstream` only when
    /// `upstreamName` is given, `trace_id` only for a request in a trace). `includeBody` is false for HEAD requests: the
    /// head still announces the body's length, as RFC 9110 asks.
    package static func writeError(
        status: Int,
        message: StaticString,
        upstreamName: UnsafeRawBufferPointer?,
        requestID: UnsafeRawBufferPointer,
        traceID: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        close: Bool,
        includeBody: Bool,
        edits: PluginEdits = .none,
        into writer: inout HTTPHeadWriter
    ) {
        // {"error":" (10) message ","status": (11) status ,"request_id":" (15) id "} (2)
        var bodyLength = 38 + message.utf8CodeUnitCount + decimalDigits(status) + requestID.count
        if let upstreamName { bodyLength += 14 + upstreamName.count }  // ","upstream":" (14)
        if traceID.count > 0 { bodyLength += 14 + traceID.count }  // ","trace_id":" (14)
        writer.appendStatic("HTTP/1.1 ")
        writer.appendDecimal(status)
        writer.appendStatic(" ")
        HTTPStatusText.write(status, into: &writer)
        writer.appendStatic("\r\nContent-Type: application/json\r\nContent-Length: ")
        writer.appendDecimal(bodyLength)
        writer.appendStatic("\r\n")
        writeTrailingHeaders(requestID: requestID, close: close, versionMinor: 1, edits: edits, into: &writer)
        guard includeBody else { return }
        writer.appendStatic("{\"error\":\"")
        writer.appendStatic(message)
        if let upstreamName {
            writer.appendStatic("\",\"upstream\":\"")
            writer.append(upstreamName)
        }
        writer.appendStatic("\",\"status\":")
        writer.appendDecimal(status)
        writer.appendStatic(",\"request_id\":\"")
        writer.append(requestID)
        appendTraceID(traceID, into: &writer)
        writer.appendStatic("\"}")
    }

    /// `","trace_id":"<hex>` when the request is in a trace (the caller closes the string).
    @inline(__always)
    static func appendTraceID(_ traceID: UnsafeRawBufferPointer, into writer: inout HTTPHeadWriter) {
        guard traceID.count > 0 else { return }
        writer.appendStatic("\",\"trace_id\":\"")
        writer.append(traceID)
    }

    /// Writes a `mocking` answer from its precompiled `head` (status line and headers, starting with
    /// "HTTP/1.1", each header line ending in CRLF) and `body`, in the client's HTTP version.
    package static func writeMock(
        head: UnsafeRawBufferPointer,
        body: UnsafeRawBufferPointer,
        versionMinor: UInt8,
        requestID: UnsafeRawBufferPointer,
        close: Bool,
        includeBody: Bool,
        edits: PluginEdits = .none,
        into writer: inout HTTPHeadWriter
    ) {
        if versionMinor == 0 {
            // Answer a 1.0 client in its own version.
            writer.appendStatic("HTTP/1.0")
            writer.append(UnsafeRawBufferPointer(rebasing: head[8...]))
        } else {
            writer.append(head)
        }
        writeTrailingHeaders(
            requestID: requestID,
            close: close,
            versionMinor: versionMinor,
            edits: edits,
            into: &writer
        )
        if includeBody { writer.append(body) }
    }

    /// Writes a plugin's rejection: `status` with `{"message":…,"request_id":…}` (`message` is JSON-safe),
    /// plus the response headers plugins recorded (`edits`).
    package static func writePluginRejection(
        status: Int,
        message: UnsafeRawBufferPointer,
        requestID: UnsafeRawBufferPointer,
        traceID: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        versionMinor: UInt8,
        close: Bool,
        includeBody: Bool,
        edits: PluginEdits,
        into writer: inout HTTPHeadWriter
    ) {
        // {"message":" (12) message ","request_id":" (16) id "} (2)
        var bodyLength = 30 + message.count + requestID.count
        if traceID.count > 0 { bodyLength += 14 + traceID.count }  // ","trace_id":" (14)
        writer.appendStatic(versionMinor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        writer.appendDecimal(status)
        writer.appendStatic(" ")
        HTTPStatusText.write(status, into: &writer)
        writer.appendStatic("\r\nContent-Type: application/json\r\nContent-Length: ")
        writer.appendDecimal(bodyLength)
        writer.appendStatic("\r\n")
        writeTrailingHeaders(
            requestID: requestID,
            close: close,
            versionMinor: versionMinor,
            edits: edits,
            into: &writer
        )
        guard includeBody else { return }
        writer.appendStatic("{\"message\":\"")
        writer.append(message)
        writer.appendStatic("\",\"request_id\":\"")
        writer.append(requestID)
        appendTraceID(traceID, into: &writer)
        writer.appendStatic("\"}")
    }

    /// Writes a plugin's own answer (a CORS preflight): `status`, the recorded headers, no body.
    package static func writePluginAnswer(
        status: Int,
        requestID: UnsafeRawBufferPointer,
        versionMinor: UInt8,
        close: Bool,
        edits: PluginEdits,
        into writer: inout HTTPHeadWriter
    ) {
        writer.appendStatic(versionMinor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        writer.appendDecimal(status)
        writer.appendStatic(" ")
        HTTPStatusText.write(status, into: &writer)
        writer.appendStatic("\r\nContent-Length: 0\r\n")
        writeTrailingHeaders(
            requestID: requestID,
            close: close,
            versionMinor: versionMinor,
            edits: edits,
            into: &writer
        )
    }

    /// The request id (unless a plugin removes or replaces it), the plugins' response headers, the
    /// connection header and the blank line that end a gateway-written head.
    @inline(__always)
    static func writeTrailingHeaders(
        requestID: UnsafeRawBufferPointer,
        close: Bool,
        versionMinor: UInt8,
        edits: PluginEdits,
        into writer: inout HTTPHeadWriter
    ) {
        if !edits.has(.omitRequestID) && !edits.dropsResponseHeader("x-request-id") {
            writer.appendStatic("X-Request-Id: ")
            writer.append(requestID)
            writer.appendStatic("\r\n")
        }
        edits.writeHeaders(response: true, into: &writer)
        if close {
            writer.appendStatic("Connection: close\r\n\r\n")
        } else if versionMinor == 0 {
            writer.appendStatic("Connection: keep-alive\r\n\r\n")
        } else {
            writer.appendStatic("\r\n")
        }
    }

    /// Writes the interim `100 Continue` a client waiting on `Expect: 100-continue` needs.
    package static func writeContinue(into writer: inout HTTPHeadWriter) {
        writer.appendStatic("HTTP/1.1 100 Continue\r\n\r\n")
    }

    @inline(__always)
    static func decimalDigits(_ value: Int) -> Int {
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        return digits
    }
}
