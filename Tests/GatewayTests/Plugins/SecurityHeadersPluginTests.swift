import Testing

@testable import Gateway

@Suite struct SecurityHeadersPluginTests {
    static func headers(_ settings: String, tls: Bool = false) throws -> [String] {
        let harness = PluginHarness()
        let plugin = try harness.compile("security-headers", settings)
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n", tls: tls)
        harness.respond(status: 200)
        _ = harness.run(plugin, .headerFilter)
        return harness.edits.map { "\($0.0) \($0.1): \($0.2)" }
    }

    @Test func defaults() throws {
        let plain = [
            "responseSet X-Content-Type-Options: nosniff", "responseSet X-Frame-Options: DENY",
            "responseSet Referrer-Policy: no-referrer",
        ]
        #expect(try Self.headers("{}") == plain)
        #expect(
            try Self.headers("{}", tls: true)
                == plain + ["responseSet Strict-Transport-Security: max-age=31536000; includeSubDomains"]
        )
    }

    @Test func strictTransportSecurityIsSentOnTLSConnectionsOnly() throws {
        let harness = PluginHarness()
        let plugin = try harness.compile("security-headers", "{strict_transport_security: 'max-age=600'}")
        func transportSecurity(tls: Bool) -> [String] {
            harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n", tls: tls)
            harness.respond(status: 200)
            _ = harness.run(plugin, .headerFilter)
            return harness.edits.filter { $0.1 == "Strict-Transport-Security" }.map { "\($0.0) \($0.2)" }
        }
        // The same instance and request object, alternating: nothing of one request leaks into the next.
        #expect(transportSecurity(tls: true) == ["responseSet max-age=600"])
        #expect(transportSecurity(tls: false).isEmpty)
        #expect(transportSecurity(tls: true) == ["responseSet max-age=600"])
        #expect(transportSecurity(tls: false).isEmpty)
    }

    @Test func valuesOverrideAndFalseOrEmptyRemove() throws {
        let settings = """
            {x_frame_options: SAMEORIGIN, referrer_policy: false, x_content_type_options: '', \
            content_security_policy: "default-src 'self'", permissions_policy: 'camera=()', \
            strict_transport_security: max-age=60}
            """
        #expect(
            try Self.headers(settings, tls: true) == [
                "responseRemove X-Content-Type-Options: ", "responseSet X-Frame-Options: SAMEORIGIN",
                "responseRemove Referrer-Policy: ", "responseSet Content-Security-Policy: default-src 'self'",
                "responseSet Permissions-Policy: camera=()", "responseSet Strict-Transport-Security: max-age=60",
            ]
        )
        #expect(
            try Self.headers("{strict_transport_security: false}").last
                == "responseRemove Strict-Transport-Security: "
        )
    }

    @Test func configurationProblemsAreReportedWithKeyPaths() {
        let path = "routes[0].plugins.security-headers"
        #expect(
            PluginHarness.issues("security-headers", "{x_frame_options: true}").map(\.path) == [
                "\(path).x_frame_options"
            ]
        )
        #expect(
            PluginHarness.issues("security-headers", "{referrer_policy: \"a\\nb\"}").map(\.path) == [
                "\(path).referrer_policy"
            ]
        )
        #expect(
            PluginHarness.issues("security-headers", "{x_xss_protection: '1'}").map(\.path) == [
                "\(path).x_xss_protection"
            ]
        )
    }
}
