import Foundation
import TestSupport
import Testing

/// `gateway rules` end to end: a real Prometheus evaluates the generated rules (windows scaled down 30x)
/// against a gateway with a failing and a healthy route.
@Suite("Integration: SLO rules on the real Prometheus")
struct SLOPrometheusIntegrationTests {
    static let failing = "slo-failing"
    static let healthy = "slo-healthy"

    @Test("the failing route's page alert goes pending then firing; the healthy route's stays quiet")
    func pageAlertFiresForTheFailingRouteOnly() async throws {
        try await timingSensitive {
            var settings = ObservabilitySettings()
            settings.metrics = "{enabled: true, native_histograms: false}"
            settings.accessLog = false
            settings.base.extraRoutes = """
                  - id: \(Self.failing)
                    uri: /status/500
                    upstream_id: backend
                    slo: {availability: 99.9, latency: {threshold: 0.3, target: 99}, window: 30d}
                  - id: \(Self.healthy)
                    uri: /status/200
                    upstream_id: backend
                    slo: {availability: 99.9}

                """
            try await withObservedGateway("slo-rules", settings) { observed in
                let rules = observed.directory.appendingPathComponent("slo.rules.yml")
                let generated = try await Command.run(
                    IntegrationEnvironment.gatewayBinary.path,
                    [
                        "rules", "--config", observed.gateway.configFile.path, "--window-scale", "30", "--output",
                        rules.path,
                    ],
                    in: observed.directory
                )
                try #require(generated.exitCode == 0, "gateway rules: \(generated.log)")
                let prometheus = try PrometheusServer(
                    target: "127.0.0.1:\(observed.controlPort)",
                    job: "gateway-slo",
                    ruleFiles: [rules],
                    evaluationInterval: "1s",
                    in: observed.directory
                )
                do {
                    try await Self.run(observed, prometheus)
                } catch {
                    await prometheus.stop()
                    throw error
                }
                await prometheus.stop()
            }
        }
    }

    static func run(_ observed: ObservedGateway, _ prometheus: PrometheusServer) async throws {
        // 0.3 s is no default bucket bound: the latency objective added it to the family's layout.
        let scraped = try await observed.scrapeText().text
        #expect(
            scraped.contains("gateway_http_request_duration_seconds_bucket{route=\"\(failing)\",le=\"0.3\"}"),
            "no le=\"0.3\" bucket on /metrics"
        )
        try await prometheus.waitForUp()
        let base = observed.gateway.url
        let traffic = Task {
            while !Task.isCancelled {
                let urls =
                    Array(repeating: base + "/status/500", count: 5) + Array(repeating: base + "/status/200", count: 5)
                _ = try? await CurlBatch.run(urls, in: observed.directory)
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        defer { traffic.cancel() }

        // Scaled 30x: the page alert needs the error ratio over 2m ("1h") and 10s ("5m") above 14.4x the
        // budget, then 4 s ("2m") pending before it fires.
        var states: [String] = []
        var healthyAlerts: [[String: String]] = []
        let fired = try await eventually(timeout: .seconds(60), interval: .milliseconds(250)) {
            for alert in try await prometheus.alerts() where alert.labels["alertname"] == "GatewaySLOBurnRatePage" {
                if alert.labels["route"] == Self.failing, alert.labels["slo"] == "availability" {
                    if states.last != alert.state { states.append(alert.state) }
                } else if alert.labels["route"] == Self.healthy {
                    healthyAlerts.append(alert.labels)
                }
            }
            return states.last == "firing"
        }
        try #require(
            fired,
            "no firing page alert for \(Self.failing); states seen: \(states)\n\(prometheus.log.suffix(2000))"
        )
        // Polling may fall between two evaluations of a short pending phase; Prometheus's own ALERTS series
        // keeps every evaluation, so the pending phase is checked there too.
        let pendingRecorded = try await prometheus.seriesCount(
            "ALERTS{alertname=\"GatewaySLOBurnRatePage\",route=\"\(failing)\",slo=\"availability\",alertstate=\"pending\"}[5m]"
        )
        #expect(states.first == "pending" || pendingRecorded > 0, "never pending before firing: \(states)")
        #expect(states.last == "firing")
        #expect(healthyAlerts.isEmpty, "the healthy route paged: \(healthyAlerts)")

        // The healthy route was measured (a ratio of 0, a full budget), not merely absent.
        let measured = try await eventually(timeout: .seconds(20), interval: .milliseconds(250)) {
            let ratio = try await prometheus.scalar(
                "slo:sli_error:ratio_rate5m{route=\"\(healthy)\",slo=\"availability\"}"
            )
            let remaining = try await prometheus.scalar(
                "slo:period_error_budget_remaining:ratio{route=\"\(healthy)\",slo=\"availability\"}"
            )
            return ratio == 0 && remaining == 1
        }
        #expect(measured, "no error ratio of 0 recorded for \(Self.healthy)")
        let failingRemaining = try await prometheus.scalar(
            "slo:period_error_budget_remaining:ratio{route=\"\(failing)\",slo=\"availability\"}"
        )
        #expect((failingRemaining ?? 1) < 0, "failing route's budget left: \(String(describing: failingRemaining))")
        let stillQuiet = try await prometheus.alerts().filter {
            $0.labels["route"] == Self.healthy && $0.labels["alertname"]?.hasPrefix("GatewaySLOBurnRate") == true
        }
        #expect(stillQuiet.isEmpty, "\(stillQuiet)")
        try await checkSLODashboardRow(prometheus)
    }

    /// The dashboard's SLOs row shows the recorded series of both routes.
    static func checkSLODashboardRow(_ prometheus: PrometheusServer) async throws {
        let file = IntegrationEnvironment.repositoryRoot.appendingPathComponent("dashboards/gateway.json")
        let dashboard = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        let panels = dashboard["panels"] as? [[String: Any]] ?? []
        let row = try #require(panels.first { $0["type"] as? String == "row" && $0["title"] as? String == "SLOs" })
        var nested = row["panels"] as? [[String: Any]] ?? []
        if nested.isEmpty, let start = panels.firstIndex(where: { $0["title"] as? String == "SLOs" }) {
            // An expanded row: its panels follow it up to the next row.
            nested = Array(panels[(start + 1)...].prefix { $0["type"] as? String != "row" })
        }
        #expect(nested.count >= 2, "the SLOs row has \(nested.count) panels")
        for panel in nested {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                guard var query = target["expr"] as? String else { continue }
                for (variable, value) in [
                    ("$__rate_interval", "10s"), ("$__interval", "5s"), ("$instance", ".*"), ("$route", ".*"),
                    ("$upstream", ".*"),
                ] {
                    query = query.replacingOccurrences(of: variable, with: value)
                }
                let count = try await prometheus.seriesCount(query)
                #expect(count >= 2, "'\(panel["title"] ?? "?")': \(query) answered \(count) series")
            }
        }
    }

    @Test("gateway check names the key path of a bad objective")
    func checkReportsABadObjective() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("slo-check")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("bad.yaml")
        try """
        upstreams: [{id: u, nodes: {"127.0.0.1:9001": 1}}]
        routes:
          - {id: a, uri: /a, upstream_id: u}
          - {id: b, uri: /b, upstream_id: u, slo: {availability: 99.9, window: 30 days}}
          - {id: c, uri: /c, upstream_id: u, slo: {availability: 100.5}}
        """.writeTestFile(to: file)
        for command in ["check", "rules"] {
            let result = try await Command.run(
                IntegrationEnvironment.gatewayBinary.path,
                [command, "--config", file.path],
                in: directory
            )
            #expect(result.exitCode == 1, "gateway \(command): \(result.stdout)")
            #expect(result.log.contains("2 problems"), "gateway \(command): \(result.log)")
            #expect(result.log.contains("routes[1].slo.window: expected a non-zero Prometheus duration"))
            #expect(result.log.contains("routes[2].slo.availability: must be above 0 and below 100, not 100.5"))
        }
    }
}
