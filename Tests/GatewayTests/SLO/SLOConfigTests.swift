import Testing

@testable import Gateway

/// The `slo` block on routes and upstreams: read from the file and through the Admin API, and every
/// bad value reported at its key path.
@Suite struct SLOConfigTests {
    static let upstream = "upstreams: [{id: u, nodes: {\"127.0.0.1:9\": 1}}]\n"

    static func load(_ yaml: String) throws(ConfigError) -> GatewayConfig {
        try ConfigLoader.parse(yaml: yaml, sourceName: "test", environment: [:], resolveHostnames: false)
    }

    /// The issues of a config that must not load, as "path: reason".
    static func issues(_ yaml: String) -> [String] {
        do {
            _ = try load(yaml)
            return []
        } catch {
            return error.issues.map { "\($0.path): \($0.reason)" }
        }
    }

    @Test func routesAndUpstreamsCarryObjectives() throws {
        let config = try Self.load(
            """
            upstreams:
              - id: u
                nodes: {"127.0.0.1:9": 1}
                slo: {latency: {threshold: 1, target: 95}, window: 7d}
            routes:
              - id: a
                uri: /a
                upstream_id: u
                slo: {availability: 99.9, latency: {threshold: 0.3, target: 99}, window: 4w}
              - id: b
                uri: /b
                upstream: {nodes: {"127.0.0.1:9": 1}, slo: {availability: 99}}
                slo: {availability: 99.5}
              - id: c
                uri: /c
                upstream_id: u
            """
        )
        let a = try #require(config.routes.first { $0.id == "a" }?.slo)
        #expect(a.availability == 99.9)
        #expect(a.latency == SLOConfig.Latency(threshold: 0.3, target: 99))
        #expect(a.window == PrometheusDuration(milliseconds: 28 * 86_400_000))
        let b = try #require(config.routes.first { $0.id == "b" }?.slo)
        #expect(b.availability == 99.5 && b.latency == nil)
        #expect(b.window == .thirtyDays)
        #expect(config.routes.first { $0.id == "c" }?.slo == nil)
        #expect(config.upstream(id: "u")?.slo?.latency == SLOConfig.Latency(threshold: 1, target: 95))
        #expect(config.upstream(id: "u")?.slo?.window.description == "7d")
        #expect(config.upstream(id: "route:b")?.slo?.availability == 99)
    }

    @Test(arguments: [
        ("{availability: 100.5}", "routes[0].slo.availability: must be above 0 and below 100, not 100.5"),
        ("{availability: 100}", "routes[0].slo.availability: must be above 0 and below 100, not 100"),
        ("{availability: 0}", "routes[0].slo.availability: must be above 0 and below 100, not 0"),
        ("{availability: -1}", "routes[0].slo.availability: must be above 0 and below 100, not -1"),
        (
            "{availability: high}",
            "routes[0].slo.availability: expected a percentage such as 99.9, found a string (\"high\")"
        ),
        (
            "{latency: {threshold: 0, target: 99}}",
            "routes[0].slo.latency.threshold: must be more than 0 seconds, not 0"
        ),
        (
            "{latency: {threshold: 0.3, target: 101}}",
            "routes[0].slo.latency.target: must be above 0 and below 100, not 101"
        ),
        (
            "{latency: {threshold: 0.3}}",
            "routes[0].slo.latency.target: required key is missing (percent of requests within the threshold, e.g. 99)"
        ),
        (
            "{latency: {threshold: 0.3, target: 99, quantile: 0.5}}",
            "routes[0].slo.latency.quantile: unknown key \"quantile\""
        ),
        ("{availability: 99, windw: 30d}", "routes[0].slo.windw: unknown key \"windw\" (did you mean \"window\"?)"),
        ("{window: 30d}", "routes[0].slo: needs `availability`, `latency` or both (e.g. {availability: 99.9})"),
        (
            "{availability: 99, window: 30 days}",
            "routes[0].slo.window: expected a non-zero Prometheus duration such as 30d, 28d or 4w, found a string (\"30 days\")"
        ),
        (
            "{availability: 99, window: 0d}",
            "routes[0].slo.window: expected a non-zero Prometheus duration such as 30d, 28d or 4w, found a string (\"0d\")"
        ),
        (
            "{availability: 99, window: 30}",
            "routes[0].slo.window: expected a non-zero Prometheus duration such as 30d, 28d or 4w, found an integer (30)"
        ),
        ("99.9", "routes[0].slo: expected a mapping (key: value pairs), found a number (99.9)"),
        (
            "{availability: 99, grpc_error_codes: [2, 17]}",
            "routes[0].slo.grpc_error_codes[1]: must be from 1 to 16, not 17"
        ),
        (
            "{latency: {threshold: 0.3, target: 99}, grpc_error_codes: [14]}",
            "routes[0].slo.grpc_error_codes: counts against `availability`, which is not set"
        ),
    ])
    func badObjectivesAreReportedAtTheirKeyPath(slo: String, issue: String) {
        let issues = Self.issues(Self.upstream + "routes: [{id: r, uri: /, upstream_id: u, slo: \(slo)}]")
        #expect(issues == [issue])
    }

    @Test func anUpstreamObjectiveIsReportedAtTheUpstreamsPath() {
        let issues = Self.issues(
            """
            upstreams: [{id: u, nodes: {"127.0.0.1:9": 1}, slo: {availability: 120}}]
            routes: [{id: r, uri: /, upstream: {nodes: {"127.0.0.1:9": 1}, slo: {latency: {threshold: -1, target: 9}}}}]
            """
        )
        #expect(
            issues == [
                "upstreams[0].slo.availability: must be above 0 and below 100, not 120",
                "routes[0].upstream.slo.latency.threshold: must be more than 0 seconds, not -1",
            ]
        )
    }

    @Test func anObjectiveWrittenThroughTheAdminAPIGoesThroughTheSameReader() throws {
        let admin = AdminHarness()
        let upstream = admin.send(
            .put,
            "/apisix/admin/upstreams/u",
            body: #"{"nodes":{"127.0.0.1:9":1},"slo":{"latency":{"threshold":0.25,"target":99.5}}}"#
        )
        #expect(upstream.status == 201)
        let route = admin.send(
            .put,
            "/apisix/admin/routes/r",
            body: #"{"uri":"/r","upstream_id":"u","slo":{"availability":99.9,"window":"28d"}}"#
        )
        #expect(route.status == 201)
        #expect(route.value?["slo"]?["availability"] != nil)
        let source = try ConfigLoader.source(yaml: "routes: []", sourceName: "test", environment: [:])
        let config = try ConfigLoader.read(
            source,
            overlay: ConfigReloader.overlay(admin.api.resources),
            environment: [:],
            resolveHostnames: false
        )
        let slo = try #require(config.routes.first { $0.id == "r" }?.slo)
        #expect(slo.availability == 99.9)
        #expect(slo.window.description == "28d")
        #expect(config.upstream(id: "u")?.slo?.latency == SLOConfig.Latency(threshold: 0.25, target: 99.5))

        admin.send(.put, "/apisix/admin/routes/r", body: #"{"uri":"/r","upstream_id":"u","slo":{"availability":100}}"#)
        #expect {
            _ = try ConfigLoader.read(
                source,
                overlay: ConfigReloader.overlay(admin.api.resources),
                environment: [:],
                resolveHostnames: false
            )
        } throws: { error in
            let issues = (error as? ConfigError)?.issues.map(\.description) ?? []
            return issues.contains { $0.contains("slo.availability") && $0.contains("must be above 0 and below 100") }
        }
    }

    @Test(
        arguments: [
            ("30d", 30 * 86_400_000, "30d"), ("4w", 28 * 86_400_000, "28d"), ("1h30m", 5_400_000, "1h30m"),
            ("250ms", 250, "250ms"), ("1y", 365 * 86_400_000, "365d"), ("90s", 90_000, "1m30s"),
        ] as [(String, Int64, String)]
    )
    func prometheusDurationsParseAndRender(text: String, milliseconds: Int64, rendered: String) throws {
        let duration = try #require(PrometheusDuration(parsing: text))
        #expect(duration.milliseconds == milliseconds)
        #expect(duration.description == rendered)
    }

    @Test(arguments: ["", "0d", "0s0ms", "30 days", "30D", "1.5h", "d", "1m1h", "1h1h", "-1d", "30", "1dd"])
    func prometheusDurationsRejectWhatPrometheusRejects(text: String) {
        #expect(PrometheusDuration(parsing: text) == nil)
    }

    @Test func durationsDivideToWholeMilliseconds() {
        let fiveMinutes = PrometheusDuration(milliseconds: 300_000)
        #expect(fiveMinutes.divided(by: 60)?.description == "5s")
        #expect(fiveMinutes.divided(by: 7)?.description == "42s857ms")
        #expect(PrometheusDuration(milliseconds: 3 * 86_400_000).divided(by: 60)?.description == "1h12m")
        #expect(fiveMinutes.divided(by: 1_000_000) == nil)
    }
}
