import Testing

@testable import Gateway

@Suite struct QuickStartConfigTests {
    static func config(
        _ options: QuickStart,
        _ environment: [String: String] = [:]
    ) throws(ConfigError) -> GatewayConfig {
        try ConfigLoader.quickStart(options, environment: environment)
    }

    static func issues(_ options: QuickStart, _ environment: [String: String] = [:]) -> [ConfigIssue] {
        do {
            _ = try config(options, environment)
            return []
        } catch {
            return error.issues
        }
    }

    @Test func oneCatchAllRouteToOneRoundRobinUpstream() throws {
        let options = QuickStart(listen: [":8080"], upstreams: ["127.0.0.1:3000", "[::1]:3001"])
        let config = try Self.config(options)
        #expect(config.listen == [ListenAddress(host: "0.0.0.0", port: 8080)])
        #expect(config.control.listen == nil)
        #expect(config.routes.count == 1)
        let route = try #require(config.routes.first)
        #expect(route.id == "quickstart" && route.uris == ["/*"] && route.upstreamID == "quickstart")
        #expect(config.upstreams.count == 1)
        let upstream = try #require(config.upstream(id: "quickstart"))
        #expect(upstream.type == .roundrobin)
        #expect(upstream.nodes.map(\.address) == ["127.0.0.1:3000", "[::1]:3001"])
        #expect(upstream.nodes.allSatisfy { $0.weight == 1 && !$0.resolved.isEmpty })
        #expect(config.sourceName == "command line")
        #expect(
            config.sourceHash == FNV1a.hex(of: "--listen :8080 --upstream 127.0.0.1:3000 --upstream [::1]:3001".utf8)
        )
        #expect(config.source(of: .listen) == .flag)
        #expect(config.source(of: .workers) == .default)
        // It compiles into a plan like any file would.
        let plan = try ProxyPlan(config: config)
        #expect(plan.routeCount == 1 && plan.upstreamCount == 1)
    }

    @Test func withoutListenTheDefaultOrTheEnvironmentDecides() throws {
        let plain = try Self.config(QuickStart(upstreams: ["127.0.0.1:3000"]))
        #expect(plain.listen == GatewayConfig().listen)
        #expect(plain.source(of: .listen) == .default)
        let environment = ["GATEWAY_LISTEN": "127.0.0.1:7000", "GATEWAY_WORKERS": "2", "GATEWAY_LOG_LEVEL": "error"]
        let fromEnvironment = try Self.config(QuickStart(upstreams: ["127.0.0.1:3000"]), environment)
        #expect(fromEnvironment.listen == [ListenAddress(host: "127.0.0.1", port: 7000)])
        #expect(fromEnvironment.workers == 2 && fromEnvironment.logLevel == .error)
        #expect(fromEnvironment.source(of: .listen) == .environment)
    }

    @Test func flagsWinOverTheEnvironment() throws {
        let options = QuickStart(listen: ["127.0.0.1:7001"], upstreams: ["127.0.0.1:3000"], control: "127.0.0.1:7002")
        let environment = ["GATEWAY_LISTEN": "127.0.0.1:7000", "GATEWAY_CONTROL_LISTEN": "127.0.0.1:7003"]
        let config = try Self.config(options, environment)
        #expect(config.listen == [ListenAddress(host: "127.0.0.1", port: 7001)])
        #expect(config.control.listen == ListenAddress(host: "127.0.0.1", port: 7002))
        #expect(config.source(of: .listen) == .flag && config.source(of: .controlListen) == .flag)
        #expect(config.effectiveValue(of: .controlListen) == "127.0.0.1:7002")
    }

    @Test func issuesNameTheFlag() {
        let issues = Self.issues(
            QuickStart(
                listen: ["somewhere"],
                upstreams: ["127.0.0.1:3000", "127.0.0.1:99999", "bad..host", "127.0.0.1:3000"],
                control: ":x"
            )
        )
        #expect(
            issues.map(\.path) == [
                "--listen", "--control", "--upstream 127.0.0.1:99999", "--upstream bad..host",
                "--upstream 127.0.0.1:3000",
            ]
        )
        #expect(issues.last?.reason.contains("listed twice") == true)
        #expect(Self.issues(QuickStart(upstreams: [])).map(\.path) == ["--upstream"])
        let clash = Self.issues(QuickStart(listen: [":9000"], upstreams: ["127.0.0.1:1"], control: ":9000"))
        #expect(clash.map(\.path) == ["--control"])
    }
}
