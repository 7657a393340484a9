import Testing

@testable import Gateway

@Suite struct CORSPluginTests {
    /// The verdict and the recorded response headers ("Name: value", in order) for one request.
    static func run(
        _ settings: String,
        method: String = "GET",
        headers: String = ""
    ) throws -> (PluginVerdict, [String]) {
        let harness = PluginHarness()
        let plugin = try harness.compile("cors", settings)
        harness.begin("\(method) /a HTTP/1.1\r\nHost: h\r\n\(headers)\r\n")
        let verdict = harness.run(plugin, .rewrite)
        let recorded = harness.edits.map { edit in
            "\(edit.0 == .responseAdd ? "+" : "")\(edit.1): \(edit.2)"
        }
        return (verdict, recorded)
    }

    @Test func defaultsAllowAnyOrigin() throws {
        let (verdict, headers) = try Self.run("{}", headers: "Origin: https://a.com\r\n")
        #expect(verdict.proceeds)
        #expect(
            headers == [
                "Access-Control-Allow-Origin: *", "Access-Control-Allow-Methods: *", "Access-Control-Max-Age: 5",
                "Access-Control-Allow-Headers: *",
            ]
        )
    }

    @Test func everyOptionsRequestIsAnsweredByTheGateway() throws {
        let (verdict, headers) = try Self.run(
            "{allow_origins: 'https://a.com', allow_methods: 'GET,POST', max_age: 600}",
            method: "OPTIONS",
            headers: "Origin: https://a.com\r\nAccess-Control-Request-Method: POST\r\n"
        )
        guard case .respond(let status) = verdict else {
            Issue.record("expected the preflight to be answered, got \(verdict)")
            return
        }
        #expect(status == 200)
        #expect(headers.contains("Access-Control-Allow-Origin: https://a.com"))
        #expect(headers.contains("+Vary: Origin"))
        #expect(headers.contains("Access-Control-Allow-Methods: GET,POST"))
        #expect(headers.contains("Access-Control-Max-Age: 600"))
        // A disallowed origin still gets its 200, without CORS headers.
        let (other, none) = try Self.run(
            "{allow_origins: 'https://a.com'}",
            method: "OPTIONS",
            headers: "Origin: https://b.com\r\n"
        )
        guard case .respond(200) = other else {
            Issue.record("expected 200, got \(other)")
            return
        }
        #expect(none.isEmpty)
    }

    @Test func listedOriginsAreEchoedWithVaryAndOthersGetNothing() throws {
        let settings = "{allow_origins: 'https://a.com,http://b.com:8080'}"
        let (_, allowed) = try Self.run(settings, headers: "Origin: http://b.com:8080\r\n")
        #expect(allowed.prefix(2) == ["Access-Control-Allow-Origin: http://b.com:8080", "+Vary: Origin"])
        #expect(try Self.run(settings, headers: "Origin: https://evil.com\r\n").1.isEmpty)
        #expect(try Self.run(settings).1.isEmpty)
        #expect(try Self.run(settings, headers: "Origin: https://a.com.evil.com\r\n").1.isEmpty)
    }

    @Test func doubleStarEchoesWithCredentials() throws {
        let settings = "{allow_origins: '**', allow_methods: '**', allow_headers: '**', allow_credential: true}"
        let (_, headers) = try Self.run(
            settings,
            headers: "Origin: https://x.org\r\nAccess-Control-Request-Headers: X-Token, Content-Type\r\n"
        )
        #expect(
            headers == [
                "Access-Control-Allow-Origin: https://x.org", "+Vary: Origin",
                "Access-Control-Allow-Methods: GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE",
                "Access-Control-Max-Age: 5", "Access-Control-Allow-Headers: X-Token, Content-Type",
                "Access-Control-Allow-Credentials: true",
            ]
        )
        // No Origin: answered "*"; `**` headers without a request list sends none.
        let (_, bare) = try Self.run(settings)
        #expect(bare.first == "Access-Control-Allow-Origin: *")
        #expect(!bare.contains { $0.hasPrefix("Access-Control-Allow-Headers") })
    }

    @Test func regexesDecideInsteadOfAllowOrigins() throws {
        let settings =
            "{allow_origins_by_regex: ['^https://.*\\.example\\.com$', 'localhost'], expose_headers: 'X-Total'}"
        let (_, headers) = try Self.run(settings, headers: "Origin: https://app.example.com\r\n")
        #expect(headers.first == "Access-Control-Allow-Origin: https://app.example.com")
        #expect(headers.contains("Access-Control-Expose-Headers: X-Total"))
        #expect(
            try Self.run(settings, headers: "Origin: http://localhost:3000\r\n").1.first
                == "Access-Control-Allow-Origin: http://localhost:3000"
        )
        #expect(try Self.run(settings, headers: "Origin: https://example.com.evil\r\n").1.isEmpty)
    }

    @Test func timingAllowOrigin() throws {
        let settings = "{allow_origins: 'http://one.com', timing_allow_origins: 'http://one.com,http://two.com'}"
        let (_, one) = try Self.run(settings, headers: "Origin: http://one.com\r\n")
        #expect(one.last == "Timing-Allow-Origin: http://one.com")
        let (_, two) = try Self.run(settings, headers: "Origin: http://two.com\r\n")
        #expect(two == ["Timing-Allow-Origin: http://two.com"])
        let (_, regex) = try Self.run(
            "{timing_allow_origins_by_regex: ['^http://t']}",
            headers: "Origin: http://t.io\r\n"
        )
        #expect(regex.last == "Timing-Allow-Origin: http://t.io")
    }

    @Test func configurationProblemsAreReportedWithKeyPaths() {
        let path = "routes[0].plugins.cors"
        let credentials = PluginHarness.issues("cors", "{allow_credential: true}")
        #expect(credentials.map(\.path) == ["\(path).allow_credential"])
        #expect(credentials.first?.reason.contains("allow_origins, allow_methods, allow_headers") == true)
        #expect(
            PluginHarness.issues(
                "cors",
                "{allow_credential: true, allow_origins: 'https://a.com', allow_methods: GET, allow_headers: X-A}"
            ).isEmpty
        )
        #expect(
            PluginHarness.issues("cors", "{allow_origins: 'https://a.com, https://b.com'}").map(\.path) == [
                "\(path).allow_origins"
            ]
        )
        #expect(PluginHarness.issues("cors", "{allow_origins: a.com}").map(\.path) == ["\(path).allow_origins"])
        #expect(PluginHarness.issues("cors", "{allow_origins: null}").map(\.path) == ["\(path).allow_origins"])
        #expect(PluginHarness.issues("cors", "{allow_origins: 'null'}").isEmpty)
        let regex = PluginHarness.issues("cors", "{allow_origins_by_regex: ['ok', '(broken']}")
        #expect(regex.map(\.path) == ["\(path).allow_origins_by_regex[1]"])
        #expect(
            PluginHarness.issues("cors", "{allow_origins_by_regex: []}").map(\.path) == [
                "\(path).allow_origins_by_regex"
            ]
        )
        let metadata = PluginHarness.issues("cors", "{allow_origins_by_metadata: [EXAMPLE]}")
        #expect(metadata.map(\.path) == ["\(path).allow_origins_by_metadata"])
        #expect(
            PluginHarness.issues("cors", "{timing_allow_origins: 'x'}").map(\.path) == ["\(path).timing_allow_origins"]
        )
        #expect(PluginHarness.issues("cors", "{max_age: soon}").map(\.path) == ["\(path).max_age"])
    }
}
