import Testing

@testable import Gateway

@Suite struct AdminConfigTests {
    static func parse(_ yaml: String) throws(ConfigError) -> GatewayConfig {
        try ConfigLoader.parse(yaml: yaml + "\nroutes: []\n", sourceName: "test", environment: [:])
    }

    static func issues(_ yaml: String) -> [ConfigIssue] {
        do {
            _ = try parse(yaml)
            return []
        } catch {
            return error.issues
        }
    }

    @Test func defaultsAreOffLoopbackAndTheDataFile() throws {
        let config = try Self.parse("workers: 1")
        #expect(config.admin == AdminConfig())
        #expect(config.admin.listen == nil)
        #expect(config.admin.keys.isEmpty)
        #expect(config.admin.allow.map(\.description) == ["127.0.0.0/8", "::1/128"])
        #expect(config.admin.dataPath == "data/resources.json")
        #expect(config.reload.watch)
        #expect(config.logLevel == .info)
    }

    @Test func aFullSectionParses() throws {
        let config = try Self.parse(
            """
            admin:
              listen: "127.0.0.1:9180"
              keys:
                - {name: ops, key: "edd1c9f0-ops", role: admin}
                - {key: "read-only-key", role: viewer}
              allow: ["10.0.0.0/8", "fd00::/8", "192.168.1.7"]
              data_path: /var/lib/gateway/resources.json
            config:
              watch: false
            log_level: warning
            """
        )
        #expect(config.admin.listen == ListenAddress(host: "127.0.0.1", port: 9180))
        #expect(
            config.admin.keys == [
                AdminConfig.Key(key: "edd1c9f0-ops", role: .admin),
                AdminConfig.Key(key: "read-only-key", role: .viewer),
            ]
        )
        #expect(config.admin.allow.map(\.description) == ["10.0.0.0/8", "fd00::/8", "192.168.1.7/32"])
        #expect(config.admin.dataPath == "/var/lib/gateway/resources.json")
        #expect(!config.reload.watch)
        #expect(config.logLevel == .warning)
        #expect(config.effectiveValue(of: .adminListen) == "127.0.0.1:9180")
        #expect(config.source(of: .adminListen) == .file)
    }

    @Test func keysWithoutAListenerAreAcceptedAndTheAPIStaysOff() throws {
        let config = try Self.parse("admin: {keys: [{key: k, role: viewer}]}")
        #expect(config.admin.listen == nil)
        #expect(config.admin.keys.count == 1)
    }

    @Test func portZeroMayRepeatOtherListeners() throws {
        let config = try Self.parse(
            "listen: 127.0.0.1:0\nadmin: {listen: \"127.0.0.1:0\", keys: [{key: k, role: admin}]}"
        )
        #expect(config.admin.listen == ListenAddress(host: "127.0.0.1", port: 0))
    }

    @Test(
        "validation",
        arguments: [
            ("admin: {listen: \"127.0.0.1:9180\"}", "admin.listen", "refusing to start"),
            ("admin: {listen: \"127.0.0.1:9180\", keys: []}", "admin.listen", "needs at least one key"),
            ("admin: {keys: [{key: \"\", role: admin}]}", "admin.keys[0].key", "must not be empty"),
            ("admin: {keys: [{key: \"a b\", role: admin}]}", "admin.keys[0].key", "printable ASCII"),
            ("admin: {keys: [{role: admin}]}", "admin.keys[0].key", "required key is missing"),
            ("admin: {keys: [{key: k}]}", "admin.keys[0].role", "admin or viewer"),
            (
                "admin: {keys: [{key: k, role: root}]}", "admin.keys[0].role",
                "\"root\" is not one of \"admin\", \"viewer\""
            ),
            ("admin: {keys: [{key: k, role: admin}, {key: k, role: viewer}]}", "admin.keys[1].key", "already listed"),
            ("admin: {keys: {key: k, role: admin}}", "admin.keys", "expected a list"),
            ("admin: {allow: [\"10.0.0.0/33\"]}", "admin.allow[0]", "from 0 to 32"),
            ("admin: {allow: [\"10.0.0.1/8\"]}", "admin.allow[0]", "host bits set; the network is \"10.0.0.0/8\""),
            ("admin: {allow: [\"fd00::1/8\"]}", "admin.allow[0]", "the network is \"fd00::/8\""),
            ("admin: {allow: [\"localhost\"]}", "admin.allow[0]", "is not an IPv4 or IPv6 network"),
            ("admin: {allow: [\"::/129\"]}", "admin.allow[0]", "from 0 to 128"),
            ("admin: {allow: []}", "admin.allow", "at least one network"),
            ("admin: {allow: [\"10.0.0.0/8\", \"10.0.0.0/8\"]}", "admin.allow[1]", "listed twice"),
            ("admin: {data_path: \"\"}", "admin.data_path", "must not be empty"),
            ("admin: {listn: x}", "admin.listn", "did you mean \"listen\""),
            (
                "listen: 127.0.0.1:8080\nadmin: {listen: \"127.0.0.1:8080\", keys: [{key: k, role: admin}]}",
                "admin.listen", "already the data-plane address listen[0]"
            ),
            (
                "control: {listen: \"127.0.0.1:9091\"}\nadmin: {listen: \"127.0.0.1:9091\", keys: [{key: k, role: admin}]}",
                "admin.listen", "already the control-plane address"
            ),
            ("config: {watch: maybe}", "config.watch", "expected true or false"),
            ("config: {wach: true}", "config.wach", "did you mean \"watch\""),
            (
                "log_level: loud", "log_level",
                "\"trace\", \"debug\", \"info\", \"notice\", \"warning\", \"error\", \"critical\""
            ),
        ]
    )
    func validation(yaml: String, path: String, reason: String) {
        let issues = Self.issues(yaml)
        #expect(issues.map(\.path) == [path])
        #expect(issues.first?.reason.contains(reason) == true, "\(issues)")
    }

    @Test func issuesNeverEchoAKey() {
        let issues = Self.issues("admin: {keys: [{key: \"s3cret value\", role: admin}, {key: s3cret, role: x}]}")
        #expect(issues.count == 2)
        #expect(!issues.contains { $0.description.contains("s3cret") })
    }

    @Test func networksContainTheirAddresses() throws {
        let v4 = try IPNetwork(parsing: "10.1.0.0/16")
        #expect(v4.contains([10, 1, 200, 3]))
        #expect(!v4.contains([10, 2, 0, 1]))
        // An IPv4 client on a dual-stack socket shows up as ::ffff:10.1.2.3.
        #expect(v4.contains(Array(repeating: 0, count: 10) + [0xFF, 0xFF, 10, 1, 2, 3]))
        let loopback6 = IPNetwork.loopback[1]
        #expect(loopback6.contains(Array(repeating: 0, count: 15) + [1]))
        #expect(!loopback6.contains([127, 0, 0, 1]))
        let everyone = try IPNetwork(parsing: "0.0.0.0/0")
        #expect(everyone.contains([203, 0, 113, 9]))
        let odd = try IPNetwork(parsing: "192.168.0.128/25")
        #expect(odd.contains([192, 168, 0, 200]) && !odd.contains([192, 168, 0, 127]))
        #expect(try IPNetwork(parsing: "2001:db8::/32").isIPv6)
        #expect(
            try IPNetwork(parsing: "2001:db8::/32").contains([0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 7, count: 12))
        )
    }
}
