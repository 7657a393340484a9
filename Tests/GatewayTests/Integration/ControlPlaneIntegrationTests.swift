import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The control plane's endpoints on a real gateway: health, readiness through a shutdown, status, exposition.
@Suite("Integration: control plane")
struct ControlPlaneIntegrationTests {
    @Test("/healthz, /status fields, and /readyz turning 503 while the data plane still accepts during shutdown.delay")
    func readinessThroughShutdown() async throws {
        var settings = ObservabilitySettings()
        settings.base.workers = 2
        // Long enough that the checks below fit inside it even when the whole suite loads two cores (8 s once
        // ran out while the test runner stood still).
        settings.shutdownDelay = 20
        try await withObservedGateway("readyz", settings) { observed in
            let health = try await observed.control("/healthz")
            #expect(health.status == 200)
            #expect(try health.jsonObject()["status"] as? String == "ok")
            let ready = try await observed.control("/readyz")
            #expect(ready.status == 200)
            #expect(try ready.jsonObject()["status"] as? String == "ready")
            #expect(try await Curl.run(observed.gateway.url + "/status/200", in: observed.directory).status == 200)
            try await Self.checkStatus(observed, workers: 2)

            let signalled = ContinuousClock().now
            kill(observed.gateway.pid, SIGTERM)
            observed.expectExit()
            // The signal is taken by the main thread's sigtimedwait: allow it a moment, not the whole delay.
            var notReady = try await Self.rawGet(observed.controlPort, "/readyz")
            while notReady.status == 200, ContinuousClock().now - signalled < .seconds(15) {
                try await Task.sleep(for: .milliseconds(10))
                notReady = try await Self.rawGet(observed.controlPort, "/readyz")
            }
            let notReadyAt = ContinuousClock().now - signalled
            #expect(notReady.status == 503, "/readyz after SIGTERM: \(notReady.status) \(notReady.bodyString)")
            let body = try notReady.jsonObject()
            #expect(body["status"] as? String == "not ready")
            #expect((body["reasons"] as? [String])?.isEmpty == false, "no reasons: \(notReady.bodyString)")
            #expect(notReady.header("Content-Type")?.hasPrefix("application/json") == true)
            // Within shutdown.delay a new client connection is still accepted and served. The listener closes
            // when the delay ends, so an answer at all proves the connection was taken during the delay; the
            // start time (not the answer's, which a loaded CI machine can hold up) shows it was asked in time.
            let askedAt = ContinuousClock().now - signalled
            let served = try await Self.rawGet(observed.gateway.port, "/status/200")
            #expect(served.status == 200)
            #expect(askedAt < .milliseconds(19_500), "the check came too late (\(askedAt)) to prove the delay")
            #expect(notReadyAt <= askedAt)

            let code = await observed.gateway.process.waitForExit(timeout: .seconds(30))
            let exitedAt = ContinuousClock().now - signalled
            #expect(code == 0, "exit status \(String(describing: code)):\n\(observed.gateway.logTail)")
            #expect(exitedAt >= .milliseconds(19_950), "exited \(exitedAt) after SIGTERM, before shutdown.delay 20 s")
        }
    }

    /// `/status` against the configuration: 3 routes (demo, limited, api), 1 upstream, `workers` workers.
    static func checkStatus(_ observed: ObservedGateway, workers: Int) async throws {
        let response = try await observed.control("/status")
        #expect(response.status == 200)
        let status = try response.jsonObject()
        #expect((status["version"] as? String)?.isEmpty == false, "version: \(response.bodyString)")
        #expect(((status["uptime_seconds"] as? NSNumber)?.doubleValue ?? -1) >= 0)
        #expect(status["draining"] as? Bool == false)
        let config = status["config"] as? [String: Any] ?? [:]
        #expect(config["routes"] as? Int == 3, "config: \(config)")
        #expect(config["upstreams"] as? Int == 1, "config: \(config)")
        #expect((config["hash"] as? String)?.isEmpty == false, "config: \(config)")
        #expect((config["source"] as? String)?.hasSuffix(".yaml") == true, "config: \(config)")
        #expect(config["loaded_at"] is String, "config: \(config)")
        let workerList = status["workers"] as? [[String: Any]] ?? []
        #expect(workerList.count == workers, "workers: \(workerList)")
        #expect(workerList.allSatisfy { $0["running"] as? Bool == true && $0["connections"] is Int })
        let upstreams = status["upstreams"] as? [[String: Any]] ?? []
        #expect(upstreams.count == 1)
        let nodes = upstreams.first?["nodes"] as? [[String: Any]] ?? []
        #expect(upstreams.first?["id"] as? String == "backend")
        #expect(nodes.count == 1 && nodes.first?["node"] as? String == "127.0.0.1:\(observed.upstream.port)")
    }

    /// One `GET` over a fresh connection, without spawning a process (the shutdown test is timing-bound).
    static func rawGet(_ port: Int, _ path: String) async throws -> RawResponse {
        try await RawConnection.request(port: port, path, timeout: .seconds(5))
    }

    @Test("metrics.enabled: false still serves process and build metrics, but no request series")
    func metricsDisabled() async throws {
        var settings = ObservabilitySettings()
        settings.metrics = "{enabled: false}"
        settings.accessLog = false
        try await withObservedGateway("metrics-off", settings) { observed in
            for index in 0..<5 {
                let response = try await Curl.run(
                    observed.gateway.url + "/status/200?n=\(index)",
                    in: observed.directory
                )
                #expect(response.status == 200)
            }
            let (text, metrics) = try await observed.scrapeText()
            #expect(metrics.value("gateway_build_info") == 1, "no gateway_build_info in:\n\(text.prefix(2000))")
            #expect((metrics.value("process_resident_memory_bytes") ?? 0) > 0)
            #expect(metrics.samples("gateway_http_requests_total").isEmpty, "request series with metrics off")
            // "Record request metrics on the workers" is off: no per-request family should claim zero traffic.
            let requestFamilies = Set(
                metrics.samples.map(\.name).filter {
                    $0.hasPrefix("gateway_http_") || $0.hasPrefix("gateway_upstream_")
                }
            )
            #expect(requestFamilies.isEmpty, "request series with metrics off: \(requestFamilies.sorted())")
        }
    }

    @Test("metrics.node_labels: false drops the node label, keeping the upstream")
    func nodeLabelsOff() async throws {
        var settings = ObservabilitySettings()
        settings.metrics = "{enabled: true, node_labels: false}"
        settings.accessLog = false
        try await withObservedGateway("node-labels", settings) { observed in
            for index in 0..<3 {
                let response = try await Curl.run(
                    observed.gateway.url + "/status/200?n=\(index)",
                    in: observed.directory
                )
                #expect(response.status == 200)
            }
            let (_, metrics) = try await observed.scrapeText()
            let connections = metrics.samples("gateway_upstream_connections_total", ["upstream": "backend"])
            #expect(!connections.isEmpty)
            #expect(connections.allSatisfy { $0.labels["node"] == nil }, "\(connections)")
            let opened = metrics.sum("gateway_upstream_connections_total", ["event": "opened"])
            let reused = metrics.sum("gateway_upstream_connections_total", ["event": "reused"])
            #expect(opened + reused == 3, "opened \(opened) + reused \(reused) for 3 proxied requests")
            let withNode = metrics.samples.filter { $0.labels["node"] != nil }
            #expect(withNode.isEmpty, "node labels with node_labels: false: \(withNode.prefix(5))")
        }
    }

    @Test("promtool accepts the text exposition; OpenMetrics carries exemplars; gzip when asked")
    func expositionFormats() async throws {
        try await withObservedGateway("promtool") { observed in
            for path in ["/status/200", "/status/404", "/__demo", "/echo"] {
                _ = try await Curl.run(observed.gateway.url + path, in: observed.directory)
            }
            let (text, metrics) = try await observed.scrapeText()
            #expect(metrics.sum("gateway_http_requests_total") == 4)
            let file = observed.directory.appendingPathComponent("metrics.txt")
            try text.writeTestFile(to: file)
            let check = try await Command.run(
                "promtool",
                ["check", "metrics"],
                in: observed.directory,
                stdinFile: file
            )
            #expect(check.exitCode == 0, "promtool check metrics:\n\(check.stdout)\(check.log)")
            #expect(check.stdout.isEmpty && check.log.isEmpty, "promtool complained:\n\(check.stdout)\(check.log)")

            let openMetrics = try await observed.control(
                "/metrics",
                ["-H", "Accept: application/openmetrics-text; version=1.0.0"]
            )
            #expect(openMetrics.header("Content-Type")?.hasPrefix("application/openmetrics-text") == true)
            #expect(openMetrics.bodyString.hasSuffix("# EOF\n"))
            #expect(
                openMetrics.bodyString.contains("gateway_http_request_duration_seconds_bucket{route=\"api\"")
                    && openMetrics.bodyString.contains("# {request_id=\""),
                "no request_id exemplar in OpenMetrics output"
            )
            let upstreamExemplar = openMetrics.bodyString.split(separator: "\n").contains {
                $0.hasPrefix("gateway_upstream_request_duration_seconds_bucket{") && $0.contains("# {request_id=\"")
            }
            #expect(upstreamExemplar, "no request_id exemplar on gateway_upstream_request_duration_seconds")
            let gzipped = try await observed.control("/metrics", ["-H", "Accept-Encoding: gzip"])
            #expect(gzipped.header("Content-Encoding") == "gzip")
            #expect(gzipped.body.starts(with: [0x1f, 0x8b]), "body is not gzip")
        }
    }
}
