import Foundation
import TestSupport
import Testing

/// `tracing.otlp` and the exporter's resource apply on reload: a SIGHUP that moves the endpoint from
/// one real OTLP receiver to another sends the following spans there, under the new `service.name`.
@Suite("Integration: tracing reload", .serialized)
struct TracingReloadIntegrationTests {
    static let trace = "0af7651916cd43dd8448eb211c80319c"

    static func yaml(control: Int, upstream: Int, endpoint: String, service: String) -> String {
        """
        listen: "127.0.0.1:0"
        workers: 2
        control: {listen: "127.0.0.1:\(control)"}
        upstreams: [{id: backend, nodes: {"127.0.0.1:\(upstream)": 1}}]
        routes:
          - id: traced
            uri: /status/*
            upstream_id: backend
        tracing:
          service_name: \(service)
          resource_attributes: {deployment.environment.name: \(service)-env}
          otlp: {endpoint: "\(endpoint)", batch_size: 4, flush_interval: 100ms}

        """
    }

    /// Sends `count` requests in the caller's sampled trace, with span ids numbered from `first`.
    static func traffic(_ gateway: GatewayProcess, count: Int, first: Int) async throws {
        for index in first..<(first + count) {
            let span = String(format: "%016x", index + 1)
            let response = try await RawConnection.request(
                port: gateway.port,
                "/status/200",
                headers: ["traceparent: 00-\(Self.trace)-\(span)-01"]
            )
            #expect(response.status == 200)
        }
    }

    @Test("SIGHUP moves span export from receiver A to receiver B, with B's service.name; no restart required")
    func endpointAndServiceNameApplyOnReload() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("tracing-reload")
        defer { try? FileManager.default.removeItem(at: directory) }
        let upstream = try await UpstreamProcess.start(in: directory)
        let a = try await OTLPReceiver.start(in: directory)
        let b = try await OTLPReceiver.start(in: directory)
        var gateway: GatewayProcess?
        do {
            let started = try await GatewayProcess.start(in: directory) { control in
                Self.yaml(control: control, upstream: upstream.port, endpoint: a.endpoint, service: "edge-a")
            }
            gateway = started
            try await Self.traffic(started, count: 4, first: 0)
            #expect(
                try await eventually(timeout: .seconds(20)) { a.acceptedSpans().filter { $0.kind == 2 }.count >= 4 },
                "receiver A: \(a.acceptedSpans().count) spans"
            )
            #expect(a.requests().first?.resource["service.name"] as? String == "edge-a")

            // The engine the test run asked for stays, so only the tracing settings change.
            try IntegrationEnvironment.withTestEngine(
                Self.yaml(
                    control: started.controlPort,
                    upstream: upstream.port,
                    endpoint: b.endpoint,
                    service: "edge-b"
                )
            )
            .writeTestFile(to: started.configFile)
            kill(started.pid, SIGHUP)
            #expect(
                try await eventually(timeout: .seconds(15)) {
                    started.log.contains("tracing: spans now exported to \(b.endpoint) (service.name edge-b)")
                },
                "\(started.logTail)"
            )
            let status = try await started.control("/status").jsonObject()
            #expect((status["restart_required"] as? [String] ?? ["?"]).isEmpty, "\(status["restart_required"] ?? "")")
            let beforeB = a.acceptedSpans().count

            try await Self.traffic(started, count: 6, first: 100)
            var spans: [OTLPReceiver.Span] = []
            #expect(
                try await eventually(timeout: .seconds(20)) {
                    spans = b.acceptedSpans().filter { $0.kind == 2 }
                    return spans.count >= 6
                },
                "receiver B: \(b.acceptedSpans().count) spans"
            )
            // Every span sent after the reload went to B, under the new resource.
            let parents = Set(spans.map(\.parentSpanID))
            #expect(parents == Set((100..<106).map { String(format: "%016x", $0 + 1) }), "\(parents)")
            #expect(b.requests().allSatisfy { $0.resource["service.name"] as? String == "edge-b" })
            #expect(
                b.requests().allSatisfy {
                    $0.resource["deployment.environment.name"] as? String == "edge-b-env"
                }
            )
            #expect(a.acceptedSpans().count == beforeB, "receiver A got spans after the reload")
            // The counters carry on across the change: nothing was dropped.
            let scrape = try await started.scrape().exposition
            #expect(scrape.sum("gateway_tracing_spans_exported_total") >= Double(beforeB + spans.count))
            #expect(scrape.sum("gateway_tracing_spans_dropped_total") == 0)
        } catch {
            if let gateway { _ = await gateway.finish() }
            await a.stop()
            await b.stop()
            await upstream.stop()
            throw error
        }
        if let gateway { #expect(await gateway.finish()) }
        await a.stop()
        await b.stop()
        await upstream.stop()
    }
}
