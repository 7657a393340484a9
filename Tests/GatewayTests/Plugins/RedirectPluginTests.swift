import Testing

@testable import Gateway

@Suite struct RedirectPluginTests {
    /// What `redirect` with `settings` does with `requestLine`: "<status> <Location>", "proceed" or
    /// "reject <status> <message>".
    static func outcome(
        _ settings: String,
        _ requestLine: String = "GET /a HTTP/1.1",
        host: String? = "api.example.com",
        tls: Bool = false
    ) throws -> String {
        let harness = PluginHarness()
        let plugin = try harness.compile("redirect", settings)
        let hostLine = host.map { "Host: \($0)\r\n" } ?? ""
        harness.begin("\(requestLine)\r\n\(hostLine)\r\n", tls: tls)
        let verdict = harness.run(plugin, .rewrite)
        let edits = harness.edits
        switch verdict {
        case .respond(let status):
            #expect(edits.count == 1)
            #expect(edits.first?.0 == .responseSet && edits.first?.1 == "Location")
            return "\(status) \(edits.first?.2 ?? "")"
        case .proceed:
            #expect(edits.isEmpty)
            return "proceed"
        case .reject(let status, let message):
            return "reject \(status) \(String(decoding: message, as: UTF8.self))"
        case .delay:
            return "delay"
        case .awaitRedis:
            return "await redis"
        }
    }

    // MARK: - http_to_https

    @Test func httpToHTTPSAnswers301ForGETAndHEADKeepingTheTarget() throws {
        let settings = "{http_to_https: true}"
        #expect(try Self.outcome(settings, "GET /a/b?x=1&y HTTP/1.1") == "301 https://api.example.com/a/b?x=1&y")
        #expect(try Self.outcome(settings, "HEAD / HTTP/1.1") == "301 https://api.example.com/")
        #expect(try Self.outcome(settings, "GET /a? HTTP/1.1") == "301 https://api.example.com/a?")
    }

    @Test(arguments: ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"])
    func httpToHTTPSAnswers308ForOtherMethods(method: String) throws {
        #expect(
            try Self.outcome("{http_to_https: true}", "\(method) /orders?id=7 HTTP/1.1")
                == "308 https://api.example.com/orders?id=7"
        )
    }

    @Test func retCodeIsIgnoredByHTTPToHTTPS() throws {
        #expect(try Self.outcome("{http_to_https: true, ret_code: 302}") == "301 https://api.example.com/a")
        #expect(
            try Self.outcome("{http_to_https: true, ret_code: 307}", "POST /a HTTP/1.1")
                == "308 https://api.example.com/a"
        )
    }

    @Test func theHostLosesItsPortAndIsLowerCased() throws {
        let settings = "{http_to_https: true}"
        #expect(try Self.outcome(settings, host: "api.example.com:8080") == "301 https://api.example.com/a")
        #expect(try Self.outcome(settings, host: "API.Example.COM") == "301 https://api.example.com/a")
        #expect(try Self.outcome(settings, host: "10.0.0.1:80") == "301 https://10.0.0.1/a")
        #expect(try Self.outcome(settings, host: "[::1]:8080") == "301 https://[::1]/a")
        #expect(try Self.outcome(settings, host: "[2001:DB8::1]") == "301 https://[2001:db8::1]/a")
    }

    @Test func anAbsoluteFormTargetGivesItsHostPathAndQuery() throws {
        let settings = "{http_to_https: true}"
        #expect(
            try Self.outcome(settings, "GET http://Other.example:80/p?q=1 HTTP/1.1")
                == "301 https://other.example/p?q=1"
        )
        #expect(try Self.outcome(settings, "GET http://other.example HTTP/1.1") == "301 https://other.example/")
    }

    @Test func httpsPortOtherThan443IsWrittenAfterTheHost() throws {
        #expect(
            try Self.outcome("{http_to_https: true, https_port: 8443}", host: "h.example:8080")
                == "301 https://h.example:8443/a"
        )
        #expect(
            try Self.outcome("{http_to_https: true, https_port: 443}", host: "h.example:80")
                == "301 https://h.example/a"
        )
    }

    @Test func requestsOnTLSPass() throws {
        #expect(try Self.outcome("{http_to_https: true}", tls: true) == "proceed")
        #expect(try Self.outcome("{http_to_https: true}", "POST /a HTTP/1.1", tls: true) == "proceed")
        // The same instance redirects the next plain request (nothing is kept between requests).
        let harness = PluginHarness()
        let plugin = try harness.compile("redirect", "{http_to_https: true}")
        harness.begin("GET /a HTTP/1.1\r\nHost: h\r\n\r\n", tls: true)
        #expect(harness.run(plugin, .rewrite).proceeds)
        harness.begin("GET /a HTTP/1.1\r\nHost: h\r\n\r\n", tls: false)
        guard case .respond(301) = harness.run(plugin, .rewrite) else {
            Issue.record("a plain request after a TLS one was not redirected")
            return
        }
    }

    @Test func httpToHTTPSFalseDoesNothing() throws {
        #expect(try Self.outcome("{http_to_https: false}") == "proceed")
        #expect(try Self.outcome("{http_to_https: false, ret_code: 301}") == "proceed")
    }

    @Test func aRequestWithoutHostCannotBeRedirectedToHTTPS() throws {
        #expect(
            try Self.outcome("{http_to_https: true}", "GET /a HTTP/1.0", host: nil)
                == "reject 400 The request has no host to redirect to"
        )
    }

    // MARK: - uri and regex_uri

    @Test func uriAnswersRetCodeWithTheRenderedTemplate() throws {
        #expect(try Self.outcome("{uri: /login}") == "302 /login")
        #expect(try Self.outcome("{uri: /login, ret_code: 301}") == "301 /login")
        #expect(try Self.outcome("{uri: /login, ret_code: 307}", "POST /a HTTP/1.1") == "307 /login")
        #expect(
            try Self.outcome("{uri: 'https://example.com$uri'}", "GET /a/b?x=1 HTTP/1.1")
                == "302 https://example.com/a/b"
        )
        #expect(
            try Self.outcome("{uri: '/new${request_uri}'}", "GET /a/b?x=1 HTTP/1.1") == "302 /new/a/b?x=1"
        )
        #expect(
            try Self.outcome("{uri: '/go/$arg_to/\\$1'}", "GET /a?to=home HTTP/1.1") == "302 /go/home/$1"
        )
        #expect(try Self.outcome("{uri: '/go/$arg_to'}", "GET /a HTTP/1.1") == "302 /go/")
    }

    @Test func uriRedirectsOnTLSToo() throws {
        #expect(try Self.outcome("{uri: /login}", tls: true) == "302 /login")
    }

    @Test func regexURIReplacesTheMatchedPartAndPassesOtherwise() throws {
        let settings = "{regex_uri: ['^/old/(.*)', '/new/$1']}"
        #expect(try Self.outcome(settings, "GET /old/a/b?x=1 HTTP/1.1") == "302 /new/a/b")
        #expect(try Self.outcome(settings, "GET /other/a HTTP/1.1") == "proceed")
        #expect(try Self.outcome("{regex_uri: ['/v1/', '/v2/']}", "GET /api/v1/users HTTP/1.1") == "302 /api/v2/users")
        #expect(
            try Self.outcome(
                "{regex_uri: ['^/iresty/(.)/(.)/(.*)', '/$1-$2-$3'], ret_code: 301}",
                "GET /iresty/a/b/cd HTTP/1.1"
            )
                == "301 /a-b-cd"
        )
    }

    // MARK: - append_query_string and encode_uri

    @Test func appendQueryStringAddsTheClientsQuery() throws {
        #expect(try Self.outcome("{uri: /new, append_query_string: true}", "GET /a?x=1 HTTP/1.1") == "302 /new?x=1")
        #expect(
            try Self.outcome("{uri: '/new?a=b', append_query_string: true}", "GET /a?x=1 HTTP/1.1")
                == "302 /new?a=b&x=1"
        )
        #expect(try Self.outcome("{uri: /new, append_query_string: true}", "GET /a HTTP/1.1") == "302 /new")
        #expect(try Self.outcome("{uri: /new, append_query_string: true}", "GET /a? HTTP/1.1") == "302 /new")
        #expect(
            try Self.outcome("{regex_uri: ['^/a/(.*)', '/b/$1'], append_query_string: true}", "GET /a/c?x=1 HTTP/1.1")
                == "302 /b/c?x=1"
        )
        // Without it the query is dropped (APISIX).
        #expect(try Self.outcome("{uri: /new}", "GET /a?x=1 HTTP/1.1") == "302 /new")
    }

    @Test func encodeURIEncodesUpToTheFirstQuestionMarkAndKeepsEscapes() throws {
        #expect(
            try Self.outcome("{uri: '/a b/<$http_x_tag>?q=a b', encode_uri: true}", "GET /a HTTP/1.1")
                == "302 /a%20b/%3C%3E?q=a b"
        )
        #expect(
            try Self.outcome("{uri: '/caf\u{e9}/{x}|^', encode_uri: true}") == "302 /caf%C3%A9/%7Bx%7D%7C%5E"
        )
        #expect(
            try Self.outcome("{regex_uri: ['^/(.*)', '/x/$1'], encode_uri: true}", "GET /a%20b HTTP/1.1")
                == "302 /x/a%20b"
        )
        #expect(
            try Self.outcome(
                "{uri: '/a b', encode_uri: true, append_query_string: true}",
                "GET /z?k=%22v%22 HTTP/1.1"
            ) == "302 /a%20b?k=%22v%22"
        )
        #expect(try Self.outcome("{uri: '/a b'}") == "302 /a b")
    }

    // MARK: - Limits and configuration

    @Test func aLocationTooLargeForTheEditAreaFailsTheRequest() throws {
        let harness = PluginHarness()
        let plugin = try harness.compile("redirect", "{uri: '/$http_x_long'}")
        let long = String(repeating: "a", count: 5000)
        harness.begin("GET /a HTTP/1.1\r\nHost: h\r\nX-Long: \(long)\r\n\r\n")
        _ = harness.run(plugin, .rewrite)
        // The worker answers 500 when the edit area overflowed.
        #expect(harness.state.pointee.editOverflow)
        harness.begin("GET /a HTTP/1.1\r\nHost: h\r\nX-Long: \(long.prefix(3000))\r\n\r\n")
        _ = harness.run(plugin, .rewrite)
        #expect(!harness.state.pointee.editOverflow)
        #expect(harness.edits.first?.2.count == 3001)
    }

    @Test func aValidConfigurationHasNoIssues() {
        #expect(PluginHarness.issues("redirect", "{http_to_https: true, https_port: 8443}").isEmpty)
        #expect(PluginHarness.issues("redirect", "{uri: /a, ret_code: 301, encode_uri: true}").isEmpty)
        #expect(PluginHarness.issues("redirect", "{regex_uri: ['^/a/(.*)', '/b/$1']}").isEmpty)
        // The allocation benchmark's settings (Benchmarks/…/PluginBenchmarks.swift).
        #expect(
            PluginHarness.issues(
                "redirect",
                "{uri: '/moved$uri', ret_code: 200, encode_uri: true, append_query_string: true}"
            ).isEmpty
        )
    }

    @Test(arguments: [
        ("{}", ""),
        ("{ret_code: 301}", ""),
        ("{http_to_https: true, uri: /a}", ".uri"),
        ("{uri: /a, regex_uri: ['^/a', /b]}", ".regex_uri"),
        ("{http_to_https: 'true'}", ".http_to_https"),
        ("{http_to_https: true, append_query_string: true}", ".append_query_string"),
        ("{uri: /a, ret_code: 199}", ".ret_code"),
        ("{uri: /a, ret_code: '302'}", ".ret_code"),
        ("{uri: /}", ".uri"),
        ("{uri: \"/a\\r\\nSet-Cookie: x\"}", ".uri"),
        ("{uri: '/$no_such_variable'}", ".uri"),
        ("{uri: '/$1'}", ".uri"),
        ("{regex_uri: ['^/a']}", ".regex_uri"),
        ("{regex_uri: ['^/a', /b, '^/c', /d]}", ".regex_uri"),
        ("{regex_uri: ['(', /b]}", ".regex_uri[0]"),
        ("{regex_uri: ['^/(a)', '/$2']}", ".regex_uri[1]"),
        ("{uri: /a, https_port: 8443}", ".https_port"),
        ("{http_to_https: true, https_port: 70000}", ".https_port"),
        ("{uri: /a, encode_uri: 1}", ".encode_uri"),
        ("{uri: /a, status: 301}", ".status"),
    ])
    func configurationProblemsAreReportedWithKeyPaths(settings: String, key: String) {
        let issues = PluginHarness.issues("redirect", settings)
        #expect(issues.map(\.path) == ["routes[0].plugins.redirect\(key)"], "\(settings): \(issues.map(\.reason))")
    }

    @Test func theReasonsNameTheConflict() {
        #expect(
            PluginHarness.issues("redirect", "{}").map(\.reason) == ["needs one of http_to_https, uri or regex_uri"]
        )
        #expect(
            PluginHarness.issues("redirect", "{http_to_https: false, regex_uri: [a, b]}").map(\.reason) == [
                "only one of http_to_https, uri and regex_uri may be set (http_to_https is set)"
            ]
        )
    }

    @Test func itIsRegisteredWithAPISIXsPriorityInTheRewritePhase() throws {
        let descriptor = try #require(PluginRegistry.descriptor(named: "redirect"))
        #expect(descriptor.priority == 900)
        #expect(descriptor.phases == [.rewrite])
    }
}
