import AccessLog
import Testing
import Tracing

@Suite struct OTLPSpanEncoderTests {
    private func record(
        kind: SpanRecord.Kind,
        method: AccessRecord.Method = .get,
        route: String = "",
        status: UInt16 = 200,
        attempt: UInt8 = 0,
        errorType: String = ""
    ) -> SpanRecord {
        var record = SpanRecord()
        record.kind = kind
        record.method = method
        record.status = status
        record.attempt = attempt
        record.spanID = 1
        Array(route.utf8).withUnsafeBytes { record.setRoute($0) }
        Array(errorType.utf8).withUnsafeBytes { record.setErrorType($0) }
        return record
    }

    private func attributes(_ span: Opentelemetry_Proto_Trace_V1_Span) -> [String: String] {
        var result: [String: String] = [:]
        for pair in span.attributes {
            switch pair.value.value {
            case .stringValue(let text): result[pair.key] = text
            case .intValue(let number): result[pair.key] = "int:\(number)"
            default: result[pair.key] = "?"
            }
        }
        return result
    }

    @Test func spanNamesFollowTheHTTPConventions() {
        #expect(OTLPSpanEncoder.span(record(kind: .server, route: "orders")).name == "GET orders")
        #expect(OTLPSpanEncoder.span(record(kind: .server, method: .post)).name == "POST")
        // Client spans are named by the method alone, even when the route is known.
        #expect(OTLPSpanEncoder.span(record(kind: .client, method: .put, route: "orders", attempt: 1)).name == "PUT")
        let other = OTLPSpanEncoder.span(record(kind: .server, method: .other, route: "orders"))
        #expect(other.name == "HTTP orders")
        #expect(attributes(other)["http.request.method"] == "_OTHER")
    }

    @Test func errorStatusAndErrorType() {
        let ok = OTLPSpanEncoder.span(record(kind: .server, status: 404))
        #expect(!ok.hasStatus)
        #expect(attributes(ok)["error.type"] == nil)
        let failed = OTLPSpanEncoder.span(record(kind: .server, status: 502))
        #expect(failed.status.code == .error)
        #expect(attributes(failed)["error.type"] == "502")
        // A client's 4xx is an error of that attempt.
        let client = OTLPSpanEncoder.span(record(kind: .client, status: 404, attempt: 1))
        #expect(client.status.code == .error)
        #expect(attributes(client)["error.type"] == "404")
        let refused = OTLPSpanEncoder.span(record(kind: .client, status: 0, attempt: 3, errorType: "connect_refused"))
        #expect(refused.status.code == .error)
        let refusedAttributes = attributes(refused)
        #expect(refusedAttributes["error.type"] == "connect_refused")
        #expect(refusedAttributes["http.response.status_code"] == nil)
        #expect(refusedAttributes["http.request.resend_count"] == "int:2")
        #expect(attributes(OTLPSpanEncoder.span(record(kind: .client, attempt: 1)))["http.request.resend_count"] == nil)
    }

    @Test func idsAreBigEndianAndRootSpansHaveNoParent() {
        var root = record(kind: .server)
        root.traceIDHigh = 0x0102_0304_0506_0708
        root.traceIDLow = 0x090A_0B0C_0D0E_0F10
        root.spanID = 0x1112_1314_1516_1718
        let span = OTLPSpanEncoder.span(root)
        #expect(Array(span.traceID) == Array(1...16))
        #expect(Array(span.spanID) == Array(0x11...0x18))
        #expect(span.parentSpanID.isEmpty)
    }
}
