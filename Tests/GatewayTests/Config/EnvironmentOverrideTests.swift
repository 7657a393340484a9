import Testing

@testable import Gateway

@Suite struct EnvironmentOverrideTests: EnvironmentConfigParsing {
    static let file = """
        workers: 2
        listen: ["127.0.0.1:8080"]
        control:
          listen: "127.0.0.1:9091"
        access_log:
          path: "logs/file.log.zst"
        log_level: notice
        routes: []
        """

    @Test func withoutVariablesTheFileDecidesAndSourcesSaySo() throws {
        let config = try Self.parse(Self.file, ["UNRELATED": "1", "GATEWAY_TEST_ENGINE": "epoll"])
        #expect(config.workers == 2)
        #expect(config.logLevel == .notice)
        #expect(config.source(of: .workers) == .file)
        #expect(config.source(of: .listen) == .file)
        #expect(config.source(of: .controlListen) == .file)
        #expect(config.source(of: .accessLogPath) == .file)
        #expect(config.source(of: .logLevel) == .file)
        #expect(config.source(of: .adminListen) == .default)
        let bare = try Self.parse("routes: []", [:])
        #expect(ProcessSetting.allCases.allSatisfy { bare.source(of: $0) == .default })
        #expect(bare.logLevel == .info)
    }

    @Test func variablesWinOverTheFile() throws {
        let environment = [
            "GATEWAY_WORKERS": "6",
            "GATEWAY_LISTEN": "127.0.0.1:18080, [::1]:18080",
            "GATEWAY_CONTROL_LISTEN": "127.0.0.1:19091",
            "GATEWAY_ADMIN_LISTEN": "127.0.0.1:19180",
            "GATEWAY_ACCESS_LOG_PATH": "-",
            "GATEWAY_LOG_LEVEL": "debug",
        ]
        let yaml = Self.file + "\nadmin: {keys: [{key: k1, role: admin}]}\n"
        let config = try Self.parse(yaml, environment)
        #expect(config.workers == 6)
        #expect(
            config.listen == [ListenAddress(host: "127.0.0.1", port: 18080), ListenAddress(host: "::1", port: 18080)]
        )
        #expect(config.control.listen == ListenAddress(host: "127.0.0.1", port: 19091))
        #expect(config.admin.listen == ListenAddress(host: "127.0.0.1", port: 19180))
        #expect(config.accessLog.path == "-")
        #expect(config.accessLog.enabled)
        #expect(config.logLevel == .debug)
        #expect(ProcessSetting.allCases.allSatisfy { config.source(of: $0) == .environment })
        let report = config.processSettingsReport
        #expect(report.count == ProcessSetting.allCases.count)
        #expect(report.contains { $0.hasPrefix("workers ") && $0.hasSuffix("env GATEWAY_WORKERS") })
        #expect(report.contains { $0.hasPrefix("listen ") && $0.contains("127.0.0.1:18080, [::1]:18080") })
    }

    @Test func anEmptyVariableCountsAsUnset() throws {
        let config = try Self.parse(Self.file, ["GATEWAY_WORKERS": "", "GATEWAY_LISTEN": ""])
        #expect(config.workers == 2)
        #expect(config.source(of: .workers) == .file)
    }

    @Test func aBarePortMeansAllInterfacesAsInTheFile() throws {
        let config = try Self.parse("routes: []", ["GATEWAY_LISTEN": "8081"])
        #expect(config.listen == [ListenAddress(host: "0.0.0.0", port: 8081)])
        let colon = try Self.parse("routes: []", ["GATEWAY_LISTEN": ":8082"])
        #expect(colon.listen == [ListenAddress(host: "0.0.0.0", port: 8082)])
    }

    @Test func theAccessLogPathActsAsIfWrittenInTheFile() throws {
        // No section: writing access_log.path turns the log on, as it would in the file.
        let on = try Self.parse("routes: []", ["GATEWAY_ACCESS_LOG_PATH": "/var/log/gw.log.zst"])
        #expect(on.accessLog.enabled && on.accessLog.path == "/var/log/gw.log.zst")
        // An explicit `enabled: false` stays off.
        let off = try Self.parse(
            "access_log: {enabled: false}\nroutes: []",
            ["GATEWAY_ACCESS_LOG_PATH": "/var/log/gw.log.zst"]
        )
        #expect(!off.accessLog.enabled && off.accessLog.path == "/var/log/gw.log.zst")
        #expect(off.effectiveValue(of: .accessLogPath) == "/var/log/gw.log.zst (access log off)")
    }

    @Test(
        "a bad value is an issue naming the variable",
        arguments: [
            ("GATEWAY_WORKERS", "many", "GATEWAY_WORKERS", "expected an integer"),
            ("GATEWAY_WORKERS", "5000", "GATEWAY_WORKERS", "from 0 to 4096"),
            ("GATEWAY_LISTEN", "127.0.0.1:1, example.com:80", "GATEWAY_LISTEN (listen[1])", "IPv4 or IPv6 literal"),
            ("GATEWAY_LISTEN", "127.0.0.1:70000", "GATEWAY_LISTEN", "65535"),
            ("GATEWAY_CONTROL_LISTEN", "127.0.0.1:8080", "GATEWAY_CONTROL_LISTEN", "already the data-plane address"),
            ("GATEWAY_ADMIN_LISTEN", "nowhere", "GATEWAY_ADMIN_LISTEN", "has no port"),
            ("GATEWAY_ADMIN_LISTEN", "127.0.0.1:9180", "GATEWAY_ADMIN_LISTEN", "needs at least one key"),
            ("GATEWAY_LOG_LEVEL", "verbose", "GATEWAY_LOG_LEVEL", "is not one of"),
            ("GATEWAY_LOG_LEVEL", "8", "GATEWAY_LOG_LEVEL", "is not one of"),
        ]
    )
    func badValue(variable: String, value: String, path: String, reason: String) {
        let issues = Self.issues(Self.file, [variable: value])
        #expect(issues.map(\.path) == [path])
        #expect(issues.first?.reason.contains(reason) == true, "\(issues)")
        #expect(issues.first?.line == nil)
    }

    @Test func aBadSectionInTheFileIsReportedNotReplaced() {
        let issues = Self.issues("control: 5\nroutes: []\n", ["GATEWAY_CONTROL_LISTEN": "127.0.0.1:9999"])
        #expect(issues.map(\.path) == ["control"])
    }

    @Test func overridesFromAnEnvironmentDictionary() {
        let overrides = ConfigOverride.environment([
            "GATEWAY_LOG_LEVEL": "error", "GATEWAY_LISTEN": " :1 ,:2", "GATEWAY_WORKERS": "", "OTHER": "x",
        ])
        #expect(overrides.map(\.setting) == [.listen, .logLevel])
        #expect(overrides.first?.values == [":1", ":2"])
        #expect(overrides.allSatisfy { $0.source == .environment && $0.label == $0.setting.environmentVariable })
    }
}
