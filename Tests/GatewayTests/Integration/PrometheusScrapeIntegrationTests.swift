import Foundation
import TestSupport
import Testing

/// Real Prometheus servers scrape the gateway's control plane during a wrk run and answer PromQL about it.
@Suite("Integration: Prometheus scrapes the gateway")
struct PrometheusScrapeIntegrationTests {
    static let loadSeconds = 10

    @Test("request rate, classic and native quantiles, and an exemplar that leads to an access-log line")
    func prometheusQueriesDuringLoad() async throws {
        try await timingSensitive {
            var settings = ObservabilitySettings()
            settings.base.workers = 2
            try await withObservedGateway("prometheus", settings) { observed in
                let target = "127.0.0.1:\(observed.controlPort)"
                // Prometheus 2.42 drops the classic buckets of a histogram it ingests as native (there is no
                // scrape_classic_histograms before 2.45), so a second server without the native feature reads
                // the classic buckets, as a user still on classic histograms would.
                let native = try PrometheusServer(
                    target: target,
                    job: "gateway-native",
                    features: ["native-histograms", "exemplar-storage"],
                    in: observed.directory
                )
                let classic = try PrometheusServer(
                    target: target,
                    job: "gateway-classic",
                    features: ["exemplar-storage"],
                    in: observed.directory
                )
                do {
                    try await Self.run(observed, native: native, classic: classic)
                } catch {
                    await native.stop()
                    await classic.stop()
                    throw error
                }
                await native.stop()
                await classic.stop()
            }
        }
    }

    /// Every query of the shipped dashboard, with its variables set to "All", is valid PromQL for the
    /// real Prometheus; the panels that must show something under load (traffic, latency, connections,
    /// the access log and its thread) answer with data on one of the two servers.
    static func checkDashboardQueries(native: PrometheusServer, classic: PrometheusServer) async throws {
        let file = IntegrationEnvironment.repositoryRoot.appendingPathComponent("dashboards/gateway.json")
        let dashboard = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        var panels: [[String: Any]] = dashboard["panels"] as? [[String: Any]] ?? []
        var queries: [(title: String, expr: String)] = []
        while let panel = panels.popLast() {
            panels += panel["panels"] as? [[String: Any]] ?? []
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                guard let expr = target["expr"] as? String else { continue }
                queries.append((panel["title"] as? String ?? "?", expr))
            }
        }
        #expect(queries.count > 30, "only \(queries.count) dashboard queries found")
        // Panels that must show data under this load (error and rejection panels rightly stay empty).
        let mustShowData: Set<String> = [
            "Requests/s", "p99 latency", "Request rate by route", "Request rate by status class",
            "Request latency by route (classic buckets)", "Request latency by route (native histograms)",
            "Upstream latency by upstream", "Gateway overhead by route", "Active client connections per worker",
            "Accepted client connections/s", "Upstream connections/s by event", "Access log records/s",
            "Access log compression ratio", "Access log bytes/s by stage", "Access log thread CPU (share of one core)",
            "CPU (cores)", "Resident memory", "Open file descriptors", "Build info", "Config reloads/min by result",
            "Config generation", "Last reload rejected", "Effective access-log sampling ratio",
            "Request latency with trace exemplars",
        ]
        var seriesByPanel: [String: Int] = [:]
        for (title, expr) in queries {
            var query = expr
            for (variable, value) in [
                ("$__rate_interval", "10s"), ("$__interval", "5s"), ("$instance", ".*"), ("$route", ".*"),
                ("$upstream", ".*"),
            ] {
                query = query.replacingOccurrences(of: variable, with: value)
            }
            // Throws (failing the test) if Prometheus rejects the query.
            let answered = try await native.seriesCount(query) + classic.seriesCount(query)
            seriesByPanel[title, default: 0] += answered
        }
        for title in mustShowData.sorted() {
            #expect(seriesByPanel[title] != nil, "no dashboard panel titled '\(title)'")
            #expect(seriesByPanel[title] ?? 0 > 0, "dashboard panel '\(title)' shows nothing under load")
        }
    }

    static func run(_ observed: ObservedGateway, native: PrometheusServer, classic: PrometheusServer) async throws {
        let directory = observed.directory
        let url = observed.gateway.url + "/status/200"
        // Both servers up and scraping before the load starts, so its whole window is observed even when a
        // loaded machine makes Prometheus slow to start.
        try await native.waitForUp()
        try await classic.waitForUp()
        for server in [native, classic] {
            let scraping = try await eventually(timeout: .seconds(30), interval: .milliseconds(200)) {
                try await server.scalar("sum(up)") == 1
            }
            try #require(scraping, "\(server.job) never scraped the gateway:\n\(server.log.suffix(2000))")
        }
        let load = Task {
            try await Command.run(
                "wrk",
                ["-t1", "-c4", "-d\(loadSeconds)s", "--latency", url],
                in: directory,
                timeout: .seconds(loadSeconds + 20)
            )
        }
        let loadStarted = ContinuousClock().now

        let rateQuery = "sum(rate(gateway_http_requests_total[5s]))"
        let classicQuery =
            "histogram_quantile(0.99, sum by (le) (rate(gateway_http_request_duration_seconds_bucket[10s])))"
        let nativeQuery = "histogram_quantile(0.99, sum(rate(gateway_http_request_duration_seconds[10s])))"
        var rate: Double?
        var classicP99: Double?
        var nativeP99: Double?
        var rateSeenByClassic: Double?
        // Rates need two scrapes inside their window while the load runs: poll until all four answer.
        let clock = ContinuousClock()
        while clock.now < loadStarted.advanced(by: .seconds(loadSeconds + 2)) {
            if (rate ?? 0) <= 0 { rate = try await native.scalar(rateQuery) }
            if classicP99?.isFinite != true { classicP99 = try await classic.scalar(classicQuery) }
            if nativeP99?.isFinite != true { nativeP99 = try await native.scalar(nativeQuery) }
            if (rateSeenByClassic ?? 0) <= 0 { rateSeenByClassic = try await classic.scalar(rateQuery) }
            if let rate, rate > 0, classicP99?.isFinite == true, nativeP99?.isFinite == true,
                let rateSeenByClassic, rateSeenByClassic > 0
            {
                break
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect((rate ?? 0) > 0, "\(rateQuery) = \(String(describing: rate))")
        #expect(classicP99?.isFinite == true, "\(classicQuery) = \(String(describing: classicP99))")
        #expect(nativeP99?.isFinite == true, "\(nativeQuery) = \(String(describing: nativeP99))")
        if let classicP99, classicP99.isFinite { #expect(classicP99 > 0 && classicP99 < 10) }
        if let nativeP99, nativeP99.isFinite { #expect(nativeP99 > 0 && nativeP99 < 10) }
        try await Self.checkDashboardQueries(native: native, classic: classic)
        #expect((rateSeenByClassic ?? 0) > 0, "classic server: \(rateQuery) = \(String(describing: rateSeenByClassic))")

        let wrk = try await load.value
        #expect(wrk.exitCode == 0, "wrk: \(wrk.log)")
        #expect(!wrk.stdout.contains("Non-2xx"), "wrk saw errors:\n\(wrk.stdout)")

        var exemplars: [(labels: [String: String], value: Double)] = []
        for selector in ["gateway_http_request_duration_seconds", "gateway_http_request_duration_seconds_bucket"] {
            exemplars += try await native.exemplars(selector)
            exemplars += try await classic.exemplars(selector)
        }
        let withID = exemplars.filter { !($0.labels["request_id"] ?? "").isEmpty }
        #expect(!withID.isEmpty, "no exemplar with a request_id on gateway_http_request_duration_seconds")

        let code = await observed.stopGateway()
        #expect(code == 0, "exit status \(String(describing: code))")
        var durations: [String: Double] = [:]
        for line in try await observed.accessLogLines() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let requestID = object["request_id"] as? String
            else { continue }
            durations[requestID] = (object["duration"] as? NSNumber)?.doubleValue
        }
        #expect(durations.count > 100, "only \(durations.count) access-log lines after \(loadSeconds) s of wrk")
        let found = withID.filter { durations[$0.labels["request_id"]!] != nil }
        #expect(
            !found.isEmpty,
            "none of \(withID.count) exemplar request ids is in the access log, e.g. \(withID.prefix(3))"
        )
        for exemplar in found.prefix(20) {
            let logged = durations[exemplar.labels["request_id"]!]!
            #expect(
                abs(logged - exemplar.value) < 0.0011,
                "exemplar value \(exemplar.value) vs access-log duration \(logged) for \(exemplar.labels)"
            )
        }
    }
}
