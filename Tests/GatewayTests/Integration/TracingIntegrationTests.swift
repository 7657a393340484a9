import Foundation
import TestSupport
import Testing

/// W3C Trace Context through a real gateway and Python upstream: what the upstream receives, and the trace
/// id in the access log, the OpenMetrics exemplars and the gateway's error bodies; access-log sampling.
@Suite("Integration: trace context and log sampling", .serialized)
struct TracingIntegrationTests {
    static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let callerSpan = "00f067aa0ba902b7"

    /// The headers the upstream received (upstream.py's /headers), lower-cased names.
    static func upstreamHeaders(_ response: RawResponse) throws -> [String: [String]] {
        let object = try response.jsonObject()
        let pairs = object["headers"] as? [[String]] ?? []
        var headers: [String: [String]] = [:]
        for pair in pairs where pair.count == 2 { headers[pair[0].lowercased(), default: []].append(pair[1]) }
        return headers
    }

    static func settings(tracing: String, sampling: String? = nil) -> ObservabilitySettings {
        var settings = ObservabilitySettings()
        settings.base.catchAll = false
        settings.base.extraRoutes = """
              - id: headers
                uris: ["/headers", "/status/*"]
                upstream_id: backend
              - id: traced
                uris: ["/traced/*"]
                upstream_id: backend
                tracing: {sampling_ratio: 1}

            """
        settings.extra = "tracing: \(tracing)\n"
        if let sampling { settings.accessLogExtra = ", sampling: \(sampling)" }
        return settings
    }

    @Test(
        "a caller's trace continues through the gateway's own span; the trace id reaches the access line, the exemplar and error bodies; a broken traceparent starts a new trace without the old tracestate"
    )
    func traceContextPropagates() async throws {
        try await withObservedGateway("trace-context", Self.settings(tracing: "{sampling_ratio: 1}")) { observed in
            let port = observed.gateway.port
            let incoming = "00-\(Self.traceID)-\(Self.callerSpan)-01"
            let response = try await RawConnection.request(
                port: port,
                "/headers",
                headers: ["traceparent: \(incoming)", "tracestate: vendor=opaque"]
            )
            #expect(response.status == 200)
            let seen = try Self.upstreamHeaders(response)
            let forwarded = try #require(seen["traceparent"]?.first)
            #expect(seen["traceparent"]?.count == 1)
            let parts = forwarded.split(separator: "-").map(String.init)
            #expect(
                parts.count == 4 && parts[0] == "00" && parts[1] == Self.traceID && parts[3] == "01",
                "\(forwarded)"
            )
            #expect(parts.count == 4 && parts[2] != Self.callerSpan && parts[2] != "0000000000000000")
            #expect(seen["tracestate"] == ["vendor=opaque"])

            // An unsampled caller stays unsampled.
            let unsampled = try await RawConnection.request(
                port: port,
                "/headers",
                headers: ["traceparent: 00-\(Self.traceID)-\(Self.callerSpan)-00"]
            )
            #expect(try Self.upstreamHeaders(unsampled)["traceparent"]?.first?.hasSuffix("-00") == true)

            // Upper-case hex is invalid: a new trace (sampled at ratio 1), and the old tracestate goes.
            let broken = try await RawConnection.request(
                port: port,
                "/headers",
                headers: ["traceparent: 00-\(Self.traceID.uppercased())-\(Self.callerSpan)-01", "tracestate: a=b"]
            )
            let restarted = try Self.upstreamHeaders(broken)
            let fresh = try #require(restarted["traceparent"]?.first)
            #expect(!fresh.contains(Self.traceID) && fresh.hasSuffix("-01") && fresh.count == 55, "\(fresh)")
            #expect(restarted["tracestate"] == nil)

            // The gateway's own error body names the trace.
            let missing = try await RawConnection.request(
                port: port,
                "/nowhere",
                headers: ["traceparent: \(incoming)"]
            )
            #expect(missing.status == 404)
            #expect(try missing.jsonObject()["trace_id"] as? String == Self.traceID)

            // The latency exemplar carries the trace id next to the request id.
            let openMetrics = try await observed.gateway.control(
                "/metrics",
                headers: ["Accept: application/openmetrics-text; version=1.0.0"]
            )
            let exemplarLines = openMetrics.bodyString.split(separator: "\n").filter {
                $0.hasPrefix("gateway_http_request_duration_seconds_bucket") && $0.contains("trace_id=\"")
            }
            #expect(!exemplarLines.isEmpty, "no exemplar with a trace_id")
            #expect(exemplarLines.allSatisfy { $0.contains("request_id=\"") })

            // And the access line.
            var lines: [String] = []
            #expect(
                try await eventually(timeout: .seconds(15)) {
                    lines = try await observed.accessLogLines()
                    return lines.filter { $0.contains("\"trace_id\":\"\(Self.traceID)\"") }.count >= 3
                },
                "access lines: \(lines.suffix(5))"
            )
        }
    }

    @Test(
        "sampling_ratio 0 propagates only: no traceparent is invented; access_log.sampling keeps errors and counts the rest"
    )
    func propagateOnlyAndSampledLogs() async throws {
        let settings = Self.settings(
            tracing: "{sampling_ratio: 0}",
            sampling: "{ratio: 0, always: {status: \">=500\"}}"
        )
        try await withObservedGateway("trace-sampling", settings) { observed in
            let port = observed.gateway.port
            let plain = try await RawConnection.request(port: port, "/headers")
            #expect(try Self.upstreamHeaders(plain)["traceparent"] == nil)
            // A route's own sampling_ratio starts (sampled) traces there only.
            let traced = try await RawConnection.request(port: port, "/traced/headers")
            let started = try #require(try Self.upstreamHeaders(traced)["traceparent"]?.first)
            #expect(started.count == 55 && started.hasSuffix("-01"), "\(started)")
            for _ in 0..<20 {
                let ok = try await RawConnection.request(port: port, "/status/200")
                #expect(ok.status == 200)
            }
            for _ in 0..<3 {
                let failed = try await RawConnection.request(port: port, "/status/503")
                #expect(failed.status == 503)
            }
            // 21 successes were skipped (the /headers request too), none of the failures; the traced
            // request's line is kept with its sampled trace.
            var skipped = 0.0
            #expect(
                try await eventually(timeout: .seconds(15)) {
                    skipped = try await observed.scrapeText().exposition.sum("gateway_access_log_sampled_out_total")
                    return skipped == 21
                },
                "sampled out: \(skipped)"
            )
            var lines: [String] = []
            #expect(
                try await eventually(timeout: .seconds(15)) {
                    lines = try await observed.accessLogLines()
                    return lines.count >= 4
                }
            )
            #expect(lines.count == 4, "\(lines)")
            #expect(lines.filter { $0.contains("\"status\":503") }.count == 3, "\(lines)")
            #expect(lines.filter { $0.contains("\"route\":\"traced\"") && $0.contains("\"trace_id\":\"") }.count == 1)
        }
    }
}
