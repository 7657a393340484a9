import Logging
import Testing

@testable import Gateway

/// `config.store` and `etcd:`: defaults, APISIX's names, and errors at their key paths. Nothing here
/// contacts etcd.
@Suite struct EtcdSettingsTests {
    static func parse(_ yaml: String) throws(ConfigError) -> GatewayConfig {
        try ConfigLoader.parse(yaml: yaml + "\nroutes: []\n", sourceName: "test", environment: [:])
    }

    static func issues(_ yaml: String) -> [String] {
        do {
            _ = try parse(yaml)
            return []
        } catch {
            return error.issues.map { "\($0.path): \($0.reason)" }
        }
    }

    @Test func defaultsAreTheFileStoreAndALocalEtcd() throws {
        let config = try Self.parse("workers: 1")
        #expect(config.reload.store == .file)
        #expect(config.etcd == EtcdSettings())
        #expect(config.etcd.endpoints.map(\.description) == ["http://127.0.0.1:2379"])
        #expect(config.etcd.prefix == "/apisix")
        #expect(config.etcd.timeout == .seconds(30))
        #expect(config.etcd.cachePath == "data/etcd-cache.json")
    }

    @Test func aFullSectionParses() throws {
        let config = try Self.parse(
            """
            config: {store: etcd, watch: false}
            etcd:
              endpoints: ["http://10.0.0.1:2379", "10.0.0.2:2380", "http://[::1]:2379/"]
              prefix: /gateway/
              timeout: 5
              user: root
              password: s3cret
              cache_path: /var/lib/gateway/etcd.json
            """
        )
        #expect(config.reload.store == .etcd)
        #expect(!config.reload.watch)
        #expect(
            config.etcd.endpoints.map(\.description) == [
                "http://10.0.0.1:2379", "http://10.0.0.2:2380", "http://[::1]:2379",
            ]
        )
        #expect(config.etcd.prefix == "/gateway")
        #expect(config.etcd.timeout == .seconds(5))
        #expect(config.etcd.user == "root" && config.etcd.password == "s3cret")
        #expect(config.etcd.cachePath == "/var/lib/gateway/etcd.json")
        // The settings as logged never show the password.
        #expect(!"\(config.etcd)".contains("s3cret"))
    }

    @Test func errorsNameTheirKeyPaths() {
        let found = Self.issues(
            """
            config: {store: consul}
            etcd:
              endpoints: ["https://10.0.0.1:2379", "10.0.0.2", "http://x:99999"]
              prefix: apisix
              timeout: 0
              password: p
              tls: {}
            """
        )
        #expect(found.contains { $0.hasPrefix("config.store: \"consul\" is not one of") })
        #expect(found.contains { $0.hasPrefix("etcd.endpoints[0]: https:// (TLS to etcd) is not supported yet") })
        #expect(found.contains { $0.hasPrefix("etcd.endpoints[1]: ") && $0.contains("needs a port") })
        #expect(found.contains { $0.hasPrefix("etcd.endpoints[2]: ") })
        #expect(found.contains { $0.hasPrefix("etcd.prefix: must start with \"/\"") })
        #expect(found.contains { $0.hasPrefix("etcd.timeout: ") })
        #expect(found.contains { $0 == "etcd.password: is set without etcd.user" })
        #expect(found.contains { $0.hasPrefix("etcd.tls: unknown key") })
    }

    @Test func storeAndEtcdAreProcessLevel() throws {
        let running = try Self.parse("config: {store: file}")
        var requested = try Self.parse("config: {store: etcd}\netcd: {endpoints: [\"127.0.0.1:1\"]}")
        let changed = ConfigReloader.processLevelChanges(running: running, requested: &requested)
        #expect(changed.contains("config.store") && changed.contains("etcd"))
        #expect(requested.reload.store == .file && requested.etcd == EtcdSettings())
    }

    @Test func layoutMapsAPISIXKeys() {
        let layout = EtcdLayout(prefix: "/apisix")
        #expect(layout.entry(forKey: "/apisix/routes/1") == .resource(.routes, id: "1"))
        #expect(layout.entry(forKey: "/apisix/consumers/jack") == .resource(.consumers, id: "jack"))
        #expect(
            layout.entry(forKey: "/apisix/consumers/jack/credentials/c1") == .resource(.credentials, id: "jack/c1")
        )
        #expect(layout.key(.credentials, "jack/c1") == "/apisix/consumers/jack/credentials/c1")
        #expect(layout.key(.globalRules, "g") == "/apisix/global_rules/g")
        for ignored in ["/apisix/routes", "/apisix/plugin_metadata/x", "/apisix/credentials/x", "/other/routes/1"] {
            guard case .ignored = layout.entry(forKey: ignored) else {
                Issue.record("\(ignored) should be ignored")
                continue
            }
        }
    }

    @Test func theFilterRejectsResourcesOneByOne() throws {
        let source = try ConfigLoader.source(yaml: "routes: []\n", sourceName: "test", environment: [:])
        func resource(_ kind: AdminResourceKind, _ id: String, _ json: String) -> StoredResource {
            StoredResource(kind: kind, id: id, json: json, createdIndex: 1, modifiedIndex: 1)
        }
        let upstream = #"{"type":"roundrobin","nodes":{"127.0.0.1:1":1}}"#
        var lastGood = ResourceSet()
        lastGood[.routes, "2"] = resource(.routes, "2", #"{"id":"2","uri":"/two","upstream":\#(upstream)}"#)
        var candidate = ResourceSet()
        candidate[.routes, "1"] = resource(.routes, "1", #"{"id":"1","uri":"/one","upstream":\#(upstream)}"#)
        candidate[.routes, "2"] = resource(.routes, "2", #"{"id":"2","uri":"two"}"#)
        candidate[.routes, "3"] = resource(.routes, "3", #"{"id":"3","uri":"/three"}"#)
        candidate[.routes, "4"] = resource(
            .routes,
            "4",
            #"{"id":"4","uri":"/four","plugins":{"serverless-pre-function":{}},"upstream":\#(upstream)}"#
        )
        let outcome = try EtcdResourceFilter.filter(
            candidate,
            lastGood: lastGood,
            layout: EtcdLayout(prefix: "/apisix")
        ) {
            set throws(ConfigError) in
            try ConfigLoader.read(source, overlay: ConfigReloader.overlay(set))
        }
        #expect(outcome.resources.list(.routes).map(\.id) == ["1", "2"])
        #expect(outcome.resources[.routes, "2"] == lastGood[.routes, "2"])
        #expect(outcome.validated.routes.map(\.id) == ["1", "2"])
        #expect(outcome.rejected.map(\.key) == ["/apisix/routes/2", "/apisix/routes/3", "/apisix/routes/4"])
        #expect(outcome.rejected.map(\.reason) == [.invalid, .invalid, .unsupportedPlugin])
        #expect(outcome.rejected.map(\.servingPrevious) == [true, false, false])
        #expect(outcome.rejected[2].detail.contains("serverless-pre-function"))
    }
}
