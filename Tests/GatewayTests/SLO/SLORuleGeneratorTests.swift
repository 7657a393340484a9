import Foundation
import Telemetry
import TestSupport
import Testing

@testable import Gateway

/// `gateway rules`: the generated file for the sample config is the checked-in fixture, promtool accepts
/// fresh output in every mode, and thresholds become bucket bounds.
@Suite struct SLORuleGeneratorTests {
    static let root = IntegrationEnvironment.repositoryRoot

    static func config(_ yaml: String) throws -> GatewayConfig {
        try ConfigLoader.parse(yaml: yaml, sourceName: "test", environment: [:], resolveHostnames: false)
    }

    static func render(
        _ config: GatewayConfig,
        _ configure: (inout SLORuleGenerator.Options) -> Void = { _ in }
    )
        throws -> String
    {
        var options = SLORuleGenerator.Options()
        configure(&options)
        return try SLORuleGenerator(config: config, options: options).render()
    }

    /// `promtool check rules` on `text`; returns its output when it fails.
    static func promtoolCheck(_ text: String) async throws -> (ok: Bool, log: String) {
        let directory = try TestFiles.makeTemporaryDirectory("slo-rules")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("rules.yml")
        try text.writeTestFile(to: file)
        let result = try await Command.run("promtool", ["check", "rules", file.path], in: directory)
        return (result.exitCode == 0, result.stdout + result.log)
    }

    static let twoRoutes = """
        upstreams:
          - id: pay
            nodes: {"127.0.0.1:9": 1}
            slo: {availability: 99.5, latency: {threshold: 1, target: 95}, window: 7d}
          - id: idle
            nodes: {"127.0.0.1:9": 1}
            slo: {availability: 99}
        routes:
          - {id: checkout, uri: /c, upstream_id: pay, slo: {availability: 99.9, latency: {threshold: 0.3, target: 99}}}
          - {id: checkout.v2, uri: /c2, upstream_id: pay}
          - {id: disabled, uri: /o, upstream_id: pay, status: 0, slo: {availability: 90}}
        """

    @Test func theSampleConfigGivesTheCheckedInFixtureByteForByte() throws {
        let yaml = try String(contentsOf: Self.root.appendingPathComponent("config/slo.yaml"), encoding: .utf8)
        let config = try ConfigLoader.parse(
            yaml: yaml,
            sourceName: "config/slo.yaml",
            environment: [:],
            resolveHostnames: false
        )
        let generated = try Self.render(config) { $0.sourceName = "config/slo.yaml" }
        let fixture = try String(
            contentsOf: Self.root.appendingPathComponent("alerts/slo.generated.yml"),
            encoding: .utf8
        )
        // On a mismatch: gateway rules --config config/slo.yaml --output alerts/slo.generated.yml
        #expect(generated == fixture, "alerts/slo.generated.yml is stale: regenerate it with `gateway rules`")
    }

    @Test func promtoolAcceptsFreshOutputAndItsUnitTestsPass() async throws {
        let yaml = try String(contentsOf: Self.root.appendingPathComponent("config/slo.yaml"), encoding: .utf8)
        let config = try ConfigLoader.parse(yaml: yaml, sourceName: "slo", environment: [:], resolveHostnames: false)
        for histograms in SLORuleGenerator.Histograms.allCases {
            for scale in [1.0, 60, 7] {
                let text = try Self.render(config) {
                    $0.histograms = histograms
                    $0.windowScale = scale
                }
                let check = try await Self.promtoolCheck(text)
                #expect(check.ok, "\(histograms), scale \(scale): \(check.log)")
            }
        }
        let test = try await Command.run(
            "promtool",
            ["test", "rules", Self.root.appendingPathComponent("alerts/slo.generated.test.yml").path]
        )
        #expect(test.exitCode == 0, "\(test.stdout)\(test.log)")
    }

    @Test func everyObjectiveGetsItsRatiosMetaRulesAndAlerts() throws {
        let text = try Self.render(Self.config(Self.twoRoutes)) { $0.histograms = .classic }
        let groups = text.split(separator: "\n").filter { $0.hasPrefix("- name: ") }
        #expect(
            groups == [
                #"- name: "gateway-slo-route-checkout-availability""#,
                #"- name: "gateway-slo-route-checkout-latency""#,
                #"- name: "gateway-slo-upstream-pay-availability""#,
                #"- name: "gateway-slo-upstream-pay-latency""#,
            ]
        )
        // Four objectives: every window four times; the period (30d for the route, 7d for the upstream) twice.
        for window in ["5m", "30m", "1h", "2h", "6h", "1d", "3d"] {
            #expect(text.components(separatedBy: "record: slo:sli_error:ratio_rate\(window)\n").count == 5)
        }
        #expect(text.components(separatedBy: "record: slo:sli_error:ratio_rate30d\n").count == 3)
        #expect(text.components(separatedBy: "record: slo:sli_error:ratio_rate7d\n").count == 3)
        for name in [
            "slo:objective:ratio", "slo:error_budget:ratio", "slo:current_burn_rate:ratio",
            "slo:period_burn_rate:ratio",
            "slo:period_error_budget_remaining:ratio",
        ] {
            #expect(text.components(separatedBy: "record: \(name)\n").count == 5, "\(name)")
        }
        for alert in ["GatewaySLOBurnRatePage", "GatewaySLOBurnRateTicket", "GatewaySLOMetricsAbsent"] {
            #expect(text.components(separatedBy: "alert: \(alert)\n").count == 5, "\(alert)")
        }
        #expect(text.contains(#"sum(rate(gateway_http_requests_total{route="checkout",code=~"5.."}[5m]))"#))
        #expect(text.contains(#"gateway_http_request_duration_seconds_bucket{route="checkout",le="0.3"}[1h]"#))
        #expect(text.contains(#"gateway_upstream_request_duration_seconds_bucket{upstream="pay",le="1"}[3d]"#))
        // The upstream's availability is that of the routes sending to it (no per-upstream status counter).
        #expect(text.contains(#"gateway_http_requests_total{route=~"checkout|checkout\\.v2",code=~"5.."}"#))
        #expect(text.contains("slo:sli_error:ratio_rate1h{route=\"checkout\",slo=\"availability\"} > (14.4 * 0.001)"))
        #expect(text.contains("slo:sli_error:ratio_rate3d{upstream=\"pay\",slo=\"latency\"} > (1 * 0.05)"))
        #expect(text.contains("vector(0.999)"))
        #expect(text.contains("      severity: \"page\"\n      route: \"checkout\"\n      slo: \"availability\"\n"))
        #expect(text.contains("runbook_url: 'docs/RUNBOOK.md#gatewaysloburnratepage'"))
        #expect(!text.contains("route=\"disabled\""))
        #expect(text.contains("# Left out: route disabled is disabled"))
        #expect(text.contains("# Left out: upstream idle: no enabled route sends to it"))
        #expect(
            text.contains(
                "# Buckets: latency threshold 0.3 is not a bucket bound of gateway_http_request_duration_seconds;"
            )
        )
        // 1 s is a default bound of the upstream family: nothing added there.
        #expect(!text.contains("of gateway_upstream_request_duration_seconds;"))
    }

    @Test func nativeHistogramsUseHistogramFraction() throws {
        var config = try Self.config(Self.twoRoutes)
        config.metrics.nativeHistograms = true
        let text = try Self.render(config)
        #expect(
            text.contains(
                #"1 - histogram_fraction(0, 0.3, sum(rate(gateway_http_request_duration_seconds{route="checkout"}[5m])))"#
            )
        )
        #expect(text.contains(#"absent(gateway_http_request_duration_seconds{route="checkout"})"#))
        #expect(!text.contains("_bucket"))
        config.metrics.nativeHistograms = false
        #expect(try Self.render(config).contains("_bucket{route=\"checkout\",le=\"0.3\"}"))
    }

    @Test func grpcErrorCodesCountBesidesServerErrors() async throws {
        let config = try Self.config(
            """
            upstreams: [{id: g, scheme: grpc, nodes: {"127.0.0.1:50051": 1}}]
            routes:
              - {id: rpc, uri: /svc/*, upstream_id: g, slo: {availability: 99.9, grpc_error_codes: [2, 13, 14]}}
            """
        )
        let text = try Self.render(config)
        #expect(text.contains(#"gateway_grpc_requests_total{route="rpc",grpc_status=~"2|13|14"}[5m]"#))
        #expect(text.contains(#"gateway_http_requests_total{route="rpc",code=~"5.."}[5m]"#))
        let checked = try await Self.promtoolCheck(text)
        #expect(checked.ok, "\(checked.log)")
        // Without codes the rule is the plain 5xx ratio.
        let plain = try Self.render(
            Self.config(
                """
                upstreams: [{id: g, scheme: grpc, nodes: {"127.0.0.1:50051": 1}}]
                routes: [{id: rpc, uri: /svc/*, upstream_id: g, slo: {availability: 99.9}}]
                """
            )
        )
        #expect(!plain.contains("gateway_grpc_requests_total"))
    }

    @Test func windowScaleDividesEveryRangeAndForButNotTheNames() throws {
        let config = try Self.config(Self.twoRoutes)
        let text = try Self.render(config) { $0.windowScale = 60 }
        #expect(text.contains("record: slo:sli_error:ratio_rate5m\n"))
        #expect(text.contains(#"[5s]"#) && text.contains(#"[30s]"#) && text.contains("[1h12m]"))
        #expect(!text.contains("[5m]"))
        #expect(
            text.contains("avg_over_time(slo:sli_error:ratio_rate5m{route=\"checkout\",slo=\"availability\"}[12h])")
        )
        #expect(text.contains("    for: 2s\n") && text.contains("    for: 15s\n") && text.contains("    for: 10s\n"))
        #expect(text.contains("# Window scale 60:"))
        #expect(try Self.render(config) { $0.windowScale = 7 }.contains("[42s857ms]"))
        #expect {
            try Self.render(config) { $0.windowScale = 0.5 }
        } throws: { ($0 as? SLORuleError)?.code == .invalidScale }
        #expect {
            try Self.render(config) { $0.windowScale = 1e9 }
        } throws: { ($0 as? SLORuleError)?.code == .windowTooShort }
    }

    @Test func theOutputIsDeterministic() throws {
        let config = try Self.config(Self.twoRoutes)
        let first = try Self.render(config)
        for _ in 0..<5 {
            #expect(try Self.render(Self.config(Self.twoRoutes)) == first)
        }
        let none = try Self.render(Self.config("routes: [{id: r, uri: /, plugins: {mocking: {}}}]"))
        #expect(none.hasSuffix("groups: []\n"))
    }

    @Test func aThresholdOffTheBucketLayoutIsAddedToTheFamily() throws {
        let config = try Self.config(
            """
            metrics: {native_histograms: false, buckets: {gateway_upstream_request_duration_seconds: [0.1, 1]}}
            upstreams: [{id: u, nodes: {"127.0.0.1:9": 1}, slo: {latency: {threshold: 0.42, target: 99}}}]
            routes:
              - {id: r, uri: /, upstream_id: u, slo: {latency: {threshold: 0.3, target: 99}}}
              - {id: s, uri: /s, upstream_id: u, slo: {latency: {threshold: 0.5, target: 99}}}
            """
        )
        let registry = MetricRegistry()
        let plan = try ProxyPlan(config: config)
        let metrics = try GatewayMetrics(registry: registry, plan: plan)
        // A worker's telemetry resolves the per-route series, as `gateway run` does at start.
        let telemetry = try WorkerTelemetry(metrics: metrics, plan: plan, worker: 0)
        let text = withExtendedLifetime(telemetry) { String(decoding: registry.render(.text), as: UTF8.self) }
        let buckets = text.split(separator: "\n").filter { $0.contains("_bucket{") }
        #expect(buckets.contains(#"gateway_http_request_duration_seconds_bucket{route="r",le="0.3"} 0"#), "\(buckets)")
        #expect(buckets.contains(#"gateway_http_request_duration_seconds_bucket{route="r",le="0.25"} 0"#))
        #expect(buckets.contains(#"gateway_http_request_duration_seconds_bucket{route="r",le="0.5"} 0"#))
        #expect(
            buckets.filter { $0.hasPrefix("gateway_upstream_request_duration_seconds_bucket{route=\"r\"") }.map {
                $0.split(separator: "le=").last.map(String.init) ?? ""
            } == [#""0.1"} 0"#, #""0.42"} 0"#, #""1"} 0"#, #""+Inf"} 0"#]
        )
        #expect(
            config.addedSLOBuckets(
                for: GatewayConfig.routeLatencyFamily,
                fallback: GatewayMetrics.defaultLatencyBuckets
            ) == [0.3]
        )
    }
}
