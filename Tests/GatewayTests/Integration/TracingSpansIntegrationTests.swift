import Foundation
import TestSupport
import Testing

/// Spans exported over OTLP/HTTP by a real gateway to a receiver that decodes them with the
/// `opentelemetry-proto` package: a retried request's tree, and a receiver that is down.
@Suite("Integration: OTLP spans", .serialized)
struct TracingSpansIntegrationTests {
    static let callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let callerSpan = "00f067aa0ba902b7"

    /// A gateway whose `retry` route goes to an upstream of one dead node and the live backend.
    static func settings(endpoint: String, dead: Int) -> ObservabilitySettings {
        var settings = ObservabilitySettings()
        settings.base.catchAll = false
        settings.base.extraUpstreams = """
              - id: flaky
                nodes: {"127.0.0.1:\(dead)": 1, "127.0.0.1:UPSTREAM_PORT": 1}
                timeout: {connect: 1, send: 5, read: 5}
                retries: 1
                circuit_breaker: {enabled: false}

            """
        settings.base.extraRoutes = """
              - id: retry
                uris: ["/headers", "/status/*"]
                upstream_id: flaky

            """
        settings.extra = """
            tracing:
              sampling_ratio: 1
              service_name: edge-test
              otlp: {endpoint: "\(endpoint)", batch_size: 16, flush_interval: 100ms}

            """
        return settings
    }

    @Test(
        "a retried request: one server span, a client span per attempt under it, OpenTelemetry attributes; the same trace id in the access line and the exemplar"
    )
    func retriedRequestSpans() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("otlp-receiver")
        defer { try? FileManager.default.removeItem(at: directory) }
        let receiver = try await OTLPReceiver.start(in: directory)
        let dead = try RefusingPort()
        defer { withExtendedLifetime(dead) {} }
        do {
            try await withObservedGateway("otlp-spans", Self.settings(endpoint: receiver.endpoint, dead: dead.port)) {
                observed in
                // Round-robin over two nodes: some requests meet the dead node first and are retried.
                for _ in 0..<8 {
                    let response = try await RawConnection.request(
                        port: observed.gateway.port,
                        "/status/200",
                        headers: ["traceparent: 00-\(Self.callerTrace)-\(Self.callerSpan)-01"]
                    )
                    #expect(response.status == 200)
                }
                var spans: [OTLPReceiver.Span] = []
                #expect(
                    try await eventually(timeout: .seconds(20)) {
                        spans = receiver.acceptedSpans()
                        return spans.filter { $0.kind == 2 }.count >= 8
                    },
                    "spans: \(spans.count)"
                )
                let servers = spans.filter { $0.kind == 2 }
                #expect(servers.allSatisfy { $0.traceID == Self.callerTrace && $0.parentSpanID == Self.callerSpan })
                let server = try #require(
                    servers.first { server in spans.filter { $0.parentSpanID == server.spanID }.count == 2 },
                    "no server span with two attempts among \(servers.count)"
                )
                #expect(server.name == "GET retry" && server.attributes["http.route"] as? String == "retry")
                #expect(server.attributes["http.request.method"] as? String == "GET")
                #expect(server.attributes["url.path"] as? String == "/status/200")
                #expect(server.attributes["http.response.status_code"] as? Int == 200)
                #expect(server.attributes["network.peer.address"] as? String == "127.0.0.1")
                let attempts = spans.filter { $0.parentSpanID == server.spanID }.sorted { $0.start < $1.start }
                #expect(attempts.allSatisfy { $0.kind == 3 && $0.traceID == Self.callerTrace })
                #expect(attempts.allSatisfy { $0.start >= server.start && $0.end <= server.end && $0.start <= $0.end })
                #expect(attempts[0].attributes["error.type"] as? String == "connect_error", "\(attempts[0].json)")
                #expect(attempts[0].attributes["server.address"] as? String == "127.0.0.1:\(dead.port)")
                #expect(attempts[1].attributes["http.response.status_code"] as? Int == 200)
                #expect(attempts[1].attributes["http.request.resend_count"] as? Int == 1)
                let resource = receiver.requests().first?.resource ?? [:]
                #expect(resource["service.name"] as? String == "edge-test")

                // The trace id of the spans is the access line's and the exemplar's.
                var lines: [String] = []
                #expect(
                    try await eventually(timeout: .seconds(15)) {
                        lines = try await observed.accessLogLines()
                        return lines.count >= 8
                    }
                )
                #expect(lines.allSatisfy { $0.contains("\"trace_id\":\"\(Self.callerTrace)\"") }, "\(lines.prefix(2))")
                let openMetrics = try await observed.gateway.control(
                    "/metrics",
                    headers: ["Accept: application/openmetrics-text; version=1.0.0"]
                )
                #expect(openMetrics.bodyString.contains("trace_id=\"\(Self.callerTrace)\""))
                let scrape = try await observed.scrapeText().exposition
                #expect(scrape.sum("gateway_tracing_spans_exported_total") >= Double(spans.count))
            }
        } catch {
            await receiver.stop()
            throw error
        }
        await receiver.stop()
    }

    @Test("a receiver that is down: every request is served, spans are dropped and counted, none exported")
    func receiverDown() async throws {
        let down = try RefusingPort()
        defer { withExtendedLifetime(down) {} }
        let endpoint = "http://127.0.0.1:\(down.port)/v1/traces"
        try await withObservedGateway("otlp-down", Self.settings(endpoint: endpoint, dead: down.port)) { observed in
            for _ in 0..<40 {
                let response = try await RawConnection.request(port: observed.gateway.port, "/status/204")
                #expect(response.status == 204)
            }
            var dropped = 0.0
            #expect(
                try await eventually(timeout: .seconds(60), interval: .milliseconds(250)) {
                    let scrape = try await observed.scrapeText().exposition
                    dropped = scrape.sum("gateway_tracing_spans_dropped_total")
                    // 40 server spans and at least 40 client spans.
                    return dropped >= 80
                },
                "dropped \(dropped)"
            )
            let scrape = try await observed.scrapeText().exposition
            #expect(scrape.sum("gateway_tracing_spans_exported_total") == 0)
        }
    }
}
