#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turns ``SpanRecord`` values into an OTLP `ExportTraceServiceRequest`, naming spans and attributes as
/// OpenTelemetry's HTTP semantic conventions say. Runs on the exporter thread (it allocates).
package struct OTLPSpanEncoder: Sendable {
    /// The resource every span is reported under.
    package let resource: Opentelemetry_Proto_Resource_V1_Resource
    /// The instrumentation scope (`gateway`).
    package let scope: Opentelemetry_Proto_Common_V1_InstrumentationScope

    /// An encoder whose resource has `attributes` (sorted by key, for stable output) and whose scope is
    /// `gateway` at `version`.
    package init(resourceAttributes attributes: [String: String], scopeVersion: String) {
        var resource = Opentelemetry_Proto_Resource_V1_Resource()
        resource.attributes = attributes.sorted { $0.key < $1.key }.map { Self.attribute($0.key, $0.value) }
        self.resource = resource
        var scope = Opentelemetry_Proto_Common_V1_InstrumentationScope()
        scope.name = "gateway"
        scope.version = scopeVersion
        self.scope = scope
    }

    /// One request carrying `records`: one ResourceSpans, one ScopeSpans.
    package func request<Records: Sequence<SpanRecord>>(
        _ records: Records
    ) -> Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest {
        var scopeSpans = Opentelemetry_Proto_Trace_V1_ScopeSpans()
        scopeSpans.scope = self.scope
        scopeSpans.spans = records.map(Self.span)
        var resourceSpans = Opentelemetry_Proto_Trace_V1_ResourceSpans()
        resourceSpans.resource = self.resource
        resourceSpans.scopeSpans = [scopeSpans]
        var request = Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest()
        request.resourceSpans = [resourceSpans]
        return request
    }

    /// The OTLP span for `record`.
    package static func span(_ record: SpanRecord) -> Opentelemetry_Proto_Trace_V1_Span {
        var span = Opentelemetry_Proto_Trace_V1_Span()
        span.traceID = Self.bigEndianBytes(record.traceIDHigh) + Self.bigEndianBytes(record.traceIDLow)
        span.spanID = Self.bigEndianBytes(record.spanID)
        if record.parentSpanID != 0 { span.parentSpanID = Self.bigEndianBytes(record.parentSpanID) }
        span.flags = UInt32(record.traceFlags)
        span.kind = record.kind == .server ? .server : .client
        span.startTimeUnixNano = UInt64(max(0, record.startTime))
        span.endTimeUnixNano = UInt64(max(0, record.endTime))

        // Semantic conventions: a method outside the known set is `_OTHER`, and its span is named `HTTP`.
        let method = record.method == .other ? "_OTHER" : record.method.name.description
        let route = record.withRoute { String(decoding: $0, as: UTF8.self) }
        let spanMethod = record.method == .other ? "HTTP" : method
        span.name = record.kind == .server && !route.isEmpty ? "\(spanMethod) \(route)" : spanMethod

        var attributes: [Opentelemetry_Proto_Common_V1_KeyValue] = []
        attributes.reserveCapacity(9)
        attributes.append(Self.attribute("http.request.method", method))
        let path = record.withPath { String(decoding: $0, as: UTF8.self) }
        if !path.isEmpty { attributes.append(Self.attribute("url.path", path)) }
        if !route.isEmpty { attributes.append(Self.attribute("http.route", route)) }
        if record.status != 0 {
            attributes.append(Self.attribute("http.response.status_code", Int64(record.status)))
        }
        let serverAddress = record.withServerAddress { String(decoding: $0, as: UTF8.self) }
        if !serverAddress.isEmpty { attributes.append(Self.attribute("server.address", serverAddress)) }
        if record.peer.family != .unknown {
            attributes.append(Self.attribute("network.peer.address", record.peer.description))
        }
        if record.kind == .client && record.attempt > 1 {
            attributes.append(Self.attribute("http.request.resend_count", Int64(record.attempt - 1)))
        }
        // An error status answered or received: the server's 5xx, the client's 4xx and 5xx. Semantic
        // conventions then want `error.type` to be the status code when nothing more precise is known.
        var errorType = record.withErrorType { String(decoding: $0, as: UTF8.self) }
        let failedStatus = record.status >= (record.kind == .server ? 500 : 400)
        if errorType.isEmpty && failedStatus { errorType = String(record.status) }
        if !errorType.isEmpty {
            attributes.append(Self.attribute("error.type", errorType))
            var status = Opentelemetry_Proto_Trace_V1_Status()
            status.code = .error
            span.status = status
        }
        span.attributes = attributes
        return span
    }

    /// A string attribute.
    package static func attribute(_ key: String, _ value: String) -> Opentelemetry_Proto_Common_V1_KeyValue {
        var pair = Opentelemetry_Proto_Common_V1_KeyValue()
        pair.key = key
        pair.value.stringValue = value
        return pair
    }

    /// An integer attribute.
    package static func attribute(_ key: String, _ value: Int64) -> Opentelemetry_Proto_Common_V1_KeyValue {
        var pair = Opentelemetry_Proto_Common_V1_KeyValue()
        pair.key = key
        pair.value.intValue = value
        return pair
    }

    private static func bigEndianBytes(_ value: UInt64) -> Data {
        withUnsafeBytes(of: value.bigEndian) { Data($0) }
    }
}
