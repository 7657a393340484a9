import Testing

@testable import Gateway

/// Where plugins come from in a configuration and how a plan compiles them.
@Suite struct PluginConfigTests {
    static func parse(_ yaml: String) throws(ConfigError) -> GatewayConfig {
        try ConfigLoader.parse(yaml: yaml, sourceName: "test", environment: [:], resolveHostnames: false)
    }

    @Test func routesTakeTheirServicesPluginsAndTheirOwnSettingsWin() throws {
        let config = try Self.parse(
            """
            upstreams: [{id: u, nodes: {"127.0.0.1:9": 1}}]
            services:
              - id: s
                upstream_id: u
                plugins:
                  key-auth: {header: X-Service}
                  limit-count: {count: 5, time_window: 60}
            global_rules:
              - id: g
                plugins: {security-headers: {}}
            consumers:
              - username: jack
                plugins:
                  key-auth: {key: k}
                  limit-count: {count: 50, time_window: 60}
            routes:
              - id: r
                uri: /
                service_id: s
                plugins:
                  key-auth: {header: X-Route}
              - id: plain
                uri: /plain
                upstream_id: u
            """
        )
        let route = config.routes[0]
        #expect(route.plugins.map(\.name).sorted() == ["key-auth", "limit-count"])
        #expect(route.plugins.first { $0.name == "key-auth" }?.settings.contains("X-Route") == true)
        #expect(config.consumers[0].credentials == [.keyAuth(key: "k")])
        #expect(config.consumers[0].plugins.map(\.name) == ["limit-count"])

        let plan = try ProxyPlan(config: config)
        let chain = try #require(plan.plugins.chain(route: 0)).takeUnretainedValue()
        #expect(chain.plugins.map(\.plugin.descriptor.name) == ["key-auth", "limit-count"])
        #expect(plan.plugins.chain(route: 1) == nil)
        #expect(plan.plugins.hasPlugins(route: 1), "the global rule runs for every route")
        #expect(plan.plugins.global?.plugins.map(\.plugin.descriptor.name) == ["security-headers"])
        #expect(plan.plugins.consumers.chain(0)?.plugins.map(\.plugin.descriptor.name) == ["limit-count"])
        #expect(Array("k".utf8).withUnsafeBytes { plan.plugins.consumers.keys.lookup($0) } == 0)
    }

    @Test func aCredentialHoldsAuthenticationPluginsOnly() {
        do {
            _ = try Self.parse(
                """
                consumers: [{username: jack}]
                credentials:
                  - {id: c, consumer: jack, plugins: {key-auth: {key: k}, limit-count: {count: 1, time_window: 1}}}
                """
            )
            Issue.record("accepted")
        } catch {
            #expect(error.issues.map(\.path) == ["credentials[0].plugins.limit-count"])
        }
    }

    @Test func aRouteWithPluginsStillNeedsSomewhereToGo() {
        do {
            _ = try Self.parse("routes: [{id: r, uri: /, plugins: {key-auth: {}}}]")
            Issue.record("accepted")
        } catch {
            #expect(error.issues.map(\.path) == ["routes[0]"])
        }
    }
}
