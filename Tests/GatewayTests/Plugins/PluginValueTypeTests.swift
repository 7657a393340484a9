import Testing

@testable import Gateway

/// Plugin settings of the wrong type or value are refused with their key path (issue 12's "bad value"),
/// instead of a number being read as its digits; `cors.allow_origins` takes a list as well as a string.
@Suite struct PluginValueTypeTests {
    static let root = "routes[0].plugins"

    /// The key paths of the issues `settings` of plugin `name` get, relative to the plugin.
    static func paths(_ name: String, _ settings: String) -> [String] {
        PluginHarness.issues(name, settings).map { String($0.path.dropFirst("\(root).\(name).".count)) }
    }

    @Test(
        "a number where a string is expected is refused",
        arguments: [
            ("security-headers", "{x_frame_options: 5}", "x_frame_options"),
            ("key-auth", "{header: 5}", "header"),
            ("proxy-rewrite", "{uri: 5}", "uri"),
            ("proxy-rewrite", "{method: 1.5}", "method"),
            ("ip-restriction", "{whitelist: [10]}", "whitelist[0]"),
            ("ip-restriction", "{whitelist: [10.0.0.1], message: 403}", "message"),
            ("cors", "{allow_methods: 5}", "allow_methods"),
            ("cors", "{allow_origins: [5]}", "allow_origins[0]"),
            ("request-id", "{header_name: 42}", "header_name"),
            ("real-ip", "{source: 1}", "source"),
            ("limit-count", "{count: 1, time_window: 60, key: 7}", "key"),
            ("consumer-restriction", "{whitelist: [1]}", "whitelist[0]"),
        ]
    )
    func numbersAreNotStrings(name: String, settings: String, path: String) {
        let issues = PluginHarness.issues(name, settings)
        #expect(issues.first?.path == "\(Self.root).\(name).\(path)", "\(issues)")
        #expect(issues.first?.reason.contains("expected a string") == true, "\(issues)")
    }

    @Test func quotedNumbersAndNumericHeaderValuesStayText() {
        #expect(Self.paths("key-auth", "{header: '5'}").isEmpty)
        #expect(Self.paths("proxy-rewrite", "{headers: {set: {X-Version: 2}}}").isEmpty)
        #expect(Self.paths("response-rewrite", "{headers: {add: {X-Version: 2.5}}}").isEmpty)
    }

    @Test func securityHeadersValuesAreChecked() {
        let name = "security-headers"
        #expect(Self.paths(name, "{x_frame_options: SAMEORIGIN, x_content_type_options: NOSNIFF}").isEmpty)
        #expect(Self.paths(name, "{x_frame_options: false, referrer_policy: ''}").isEmpty)
        #expect(Self.paths(name, "{x_frame_options: ALLOWALL}") == ["x_frame_options"])
        #expect(Self.paths(name, "{x_frame_options: true}") == ["x_frame_options"])
        #expect(Self.paths(name, "{x_frame_options: [DENY]}") == ["x_frame_options"])
        #expect(Self.paths(name, "{x_content_type_options: sniff}") == ["x_content_type_options"])
        #expect(Self.paths(name, "{referrer_policy: 'no-referrer, strict-origin-when-cross-origin'}").isEmpty)
        #expect(Self.paths(name, "{referrer_policy: never}") == ["referrer_policy"])
        #expect(Self.paths(name, "{strict_transport_security: 'max-age=600; includeSubDomains; preload'}").isEmpty)
        #expect(Self.paths(name, "{strict_transport_security: includeSubDomains}") == ["strict_transport_security"])
        #expect(Self.paths(name, "{strict_transport_security: 'max-age=soon'}") == ["strict_transport_security"])
        #expect(Self.paths(name, "{content_security_policy: \"default-src 'self'\"}").isEmpty)
        #expect(Self.paths(name, "{permissions_policy: {camera: none}}") == ["permissions_policy"])
        #expect(Self.paths(name, "{x_xss_protection: '1'}") == ["x_xss_protection"])
    }

    @Test func corsOriginsMayBeAList() throws {
        #expect(Self.paths("cors", "{allow_origins: [https://a.com, 'http://b.com:8080']}").isEmpty)
        #expect(Self.paths("cors", "{allow_origins: ['*']}").isEmpty)
        #expect(Self.paths("cors", "{allow_origins: []}") == ["allow_origins"])
        #expect(Self.paths("cors", "{allow_origins: [https://a.com, 'b.com']}") == ["allow_origins[1]"])
        #expect(Self.paths("cors", "{allow_origins: ['https://a.com,https://b.com']}") == ["allow_origins[0]"])
        #expect(Self.paths("cors", "{allow_origins: ['*', https://a.com]}") == ["allow_origins[0]"])
        let explicit = "allow_methods: GET, allow_headers: X-A, allow_credential: true"
        #expect(Self.paths("cors", "{allow_origins: [https://a.com], \(explicit)}").isEmpty)
        #expect(Self.paths("cors", "{allow_origins: ['*'], \(explicit)}") == ["allow_credential"])

        let settings = "{allow_origins: [https://a.com, 'http://b.com:8080']}"
        let allowed = try CORSPluginTests.run(settings, headers: "Origin: http://b.com:8080\r\n").1
        #expect(allowed.contains("Access-Control-Allow-Origin: http://b.com:8080"), "\(allowed)")
        let refused = try CORSPluginTests.run(settings, headers: "Origin: https://c.com\r\n").1
        #expect(!refused.contains { $0.hasPrefix("Access-Control-Allow-Origin") }, "\(refused)")
    }
}
