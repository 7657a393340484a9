import Testing

@testable import Gateway

/// APISIX's `_meta` on a plugin's settings: `disable: true` leaves the plugin out; every other field is an
/// unsupported plugin setting, reported and never ignored.
@Suite struct PluginMetaTests {
    static func parse(_ yaml: String) throws(ConfigError) -> GatewayConfig {
        try ConfigLoader.parse(yaml: yaml, sourceName: "test", environment: [:], resolveHostnames: false)
    }

    static func issues(_ yaml: String) -> [ConfigIssue] {
        do {
            _ = try parse(yaml)
            return []
        } catch {
            return error.issues
        }
    }

    @Test func aDisabledPluginIsLeftOutOfThePlan() throws {
        let config = try Self.parse(
            """
            upstreams: [{id: u, nodes: {"127.0.0.1:9": 1}}]
            services:
              - id: s
                upstream_id: u
                plugins: {key-auth: {}}
            global_rules:
              - id: g
                plugins: {security-headers: {_meta: {disable: true}}}
            routes:
              - id: disabled
                uri: /disabled
                upstream_id: u
                plugins:
                  key-auth: {_meta: {disable: true}}
                  request-id: {_meta: {disable: false}}
              - id: service-off
                uri: /service-off
                service_id: s
                plugins:
                  key-auth: {_meta: {disable: true}}
              - id: service-on
                uri: /service-on
                service_id: s
            """
        )
        let plan = try ProxyPlan(config: config)
        let first = try #require(plan.plugins.chain(route: 0)).takeUnretainedValue()
        #expect(first.plugins.map(\.plugin.descriptor.name) == ["request-id"])
        // The route's disabled key-auth replaces its service's, as APISIX merges them, so none runs.
        #expect(plan.plugins.chain(route: 1) == nil)
        let third = try #require(plan.plugins.chain(route: 2)).takeUnretainedValue()
        #expect(third.plugins.map(\.plugin.descriptor.name) == ["key-auth"])
        #expect(plan.plugins.global == nil)
    }

    @Test func aDisabledPluginIsStillChecked() {
        let issues = Self.issues(
            """
            routes:
              - id: r
                uri: /
                plugins:
                  mocking: {response_status: 200}
                  limit-count: {count: 0, time_window: 60, _meta: {disable: true}}
            """
        )
        #expect(issues.map(\.path) == ["routes[0].plugins.limit-count.count"], "\(issues)")
    }

    @Test func aDisabledCredentialAuthenticatesNoOne() throws {
        let config = try Self.parse(
            """
            consumers:
              - username: jack
                plugins: {key-auth: {key: jack-key, _meta: {disable: true}}}
              - username: jill
                plugins: {key-auth: {key: jill-key}}
            credentials:
              - id: c1
                consumer: jill
                plugins: {basic-auth: {username: jill, password: pw, _meta: {disable: true}}}
            routes:
              - id: r
                uri: /
                plugins: {key-auth: {}, mocking: {response_status: 200}}
            """
        )
        #expect(config.consumers[0].credentials.isEmpty)
        #expect(config.consumers[1].credentials == [.keyAuth(key: "jill-key")])
        #expect(config.credentials[0].credentials.isEmpty)
        let plan = try ProxyPlan(config: config)
        #expect(Array("jack-key".utf8).withUnsafeBytes { plan.plugins.consumers.keys.lookup($0) } == -1)
        let jill = Array("jill-key".utf8).withUnsafeBytes { plan.plugins.consumers.keys.lookup($0) }
        #expect(jill >= 0 && plan.plugins.consumers.credentials.map(\.consumer) == [1])
    }

    @Test(arguments: [
        "filter: [[arg_version, ==, v2]]", "priority: 100", "error_response: {message: no}",
        "pre_function: \"return function() end\"", "something_new: 1",
    ])
    func otherMetaFieldsAreUnsupported(meta: String) {
        let issues = Self.issues(
            """
            routes:
              - id: r
                uri: /
                plugins:
                  mocking: {response_status: 200}
                  request-id: {_meta: {disable: false, \(meta)}}
            """
        )
        let field = String(meta.prefix { $0 != ":" })
        #expect(issues.map(\.path) == ["routes[0].plugins.request-id._meta.\(field)"], "\(issues)")
        #expect(issues.first?.reason.hasPrefix(ConfigReader.unsupportedPluginSetting) == true, "\(issues)")
    }

    @Test func aMetaThatIsNotAMappingOrADisableThatIsNotABooleanIsInvalid() {
        let issues = Self.issues(
            """
            routes:
              - id: r
                uri: /
                plugins:
                  mocking: {response_status: 200}
                  request-id: {_meta: true}
                  real-ip: {source: http_x_real_ip, _meta: {disable: "yes"}}
            """
        )
        #expect(
            issues.map(\.path) == ["routes[0].plugins.request-id._meta", "routes[0].plugins.real-ip._meta.disable"],
            "\(issues)"
        )
        #expect(!issues.contains { $0.reason.contains(ConfigReader.unsupportedPluginSetting) })
    }

    @Test func inEtcdAResourceWithAnUnsupportedMetaFieldIsNotServedAndADisabledPluginIsServedWithout() throws {
        let source = try ConfigLoader.source(yaml: "routes: []\n", sourceName: "test", environment: [:])
        let upstream = #"{"type":"roundrobin","nodes":{"127.0.0.1:1":1}}"#
        func route(_ id: String, _ plugins: String) -> StoredResource {
            let json = #"{"id":"\#(id)","uri":"/\#(id)","plugins":\#(plugins),"upstream":\#(upstream)}"#
            return StoredResource(kind: .routes, id: id, json: json, createdIndex: 1, modifiedIndex: 1)
        }
        var lastGood = ResourceSet()
        lastGood[.routes, "filtered"] = route("filtered", #"{"key-auth":{}}"#)
        var candidate = ResourceSet()
        candidate[.routes, "disabled"] = route("disabled", #"{"key-auth":{"_meta":{"disable":true}}}"#)
        candidate[.routes, "filtered"] = route(
            "filtered",
            #"{"key-auth":{"_meta":{"filter":[["arg_k","==","v"]]}}}"#
        )
        let outcome = try EtcdResourceFilter.filter(
            candidate,
            lastGood: lastGood,
            layout: EtcdLayout(prefix: "/apisix")
        ) {
            set throws(ConfigError) in
            try ConfigLoader.read(source, overlay: ConfigReloader.overlay(set), environment: [:])
        }
        #expect(outcome.resources.list(.routes).map(\.id) == ["disabled"])
        #expect(outcome.rejected.map(\.key) == ["/apisix/routes/filtered"])
        // Not served at all: not even its last good version, as with an unknown plugin.
        #expect(outcome.rejected.map(\.reason) == [.unsupportedPlugin])
        #expect(outcome.rejected.map(\.servingPrevious) == [false])
        #expect(outcome.rejected.first?.detail.contains("_meta.filter") == true)
        let plan = try ProxyPlan(config: outcome.validated)
        #expect(plan.plugins.chain(route: 0) == nil)
    }
}
