import Testing

@testable import Gateway

@Suite struct ProxyRewritePluginTests {
    /// The edits ("operation name: value") `proxy-rewrite` with `settings` records for `requestLine`.
    static func edits(
        _ settings: String,
        _ requestLine: String = "GET /a HTTP/1.1",
        headers: String = ""
    ) throws -> [String] {
        let harness = PluginHarness()
        let plugin = try harness.compile("proxy-rewrite", settings)
        harness.begin("\(requestLine)\r\nHost: h.example\r\n\(headers)\r\n")
        #expect(harness.run(plugin, .rewrite).proceeds)
        return harness.edits.map { "\($0.0) \($0.1): \($0.2)" }
    }

    @Test func uriReplacesThePathAndKeepsTheQuery() throws {
        #expect(try Self.edits("{uri: /new}", "GET /old?a=1 HTTP/1.1") == ["uri : /new?a=1"])
        #expect(try Self.edits("{uri: /new}") == ["uri : /new"])
        #expect(try Self.edits("{uri: '/new?x=2'}", "GET /old?a=1 HTTP/1.1") == ["uri : /new?x=2&a=1"])
    }

    @Test func uriVariablesAreRenderedAndQuestionMarksInThemEscaped() throws {
        #expect(
            try Self.edits(
                "{uri: '/users/$arg_id/${http_x_tenant}'}",
                "GET /u?id=a?b HTTP/1.1",
                headers: "X-Tenant: t1\r\n"
            )
                == ["uri : /users/a%3Fb/t1?id=a?b"]
        )
        #expect(try Self.edits("{uri: '/p$uri'}", "GET /a/b HTTP/1.1") == ["uri : /p/a/b"])
        #expect(try Self.edits("{uri: '/cost/\\$5'}") == ["uri : /cost/$5"])
    }

    @Test func bytesThatCannotBeInARequestLineAreEncoded() throws {
        #expect(try Self.edits("{uri: '/a b/<c>'}") == ["uri : /a%20b/%3Cc%3E"])
        #expect(try Self.edits("{uri: '/caf\u{e9}'}") == ["uri : /caf%C3%A9"])
    }

    @Test func regexURIReplacesTheMatchedPart() throws {
        let settings = "{regex_uri: ['^/api/(.*)', '/$1']}"
        #expect(try Self.edits(settings, "GET /api/users/7?x=1 HTTP/1.1") == ["uri : /users/7?x=1"])
        #expect(try Self.edits("{regex_uri: ['/old/', '/new/']}", "GET /a/old/b HTTP/1.1") == ["uri : /a/new/b"])
        #expect(try Self.edits(settings, "GET /other HTTP/1.1").isEmpty)
    }

    @Test func regexURIPairsAreTriedInOrder() throws {
        let settings = "{regex_uri: ['^/iresty/(.*)/(.*)', '/$1-$2', '^/theothers/.*', '/theothers']}"
        #expect(try Self.edits(settings, "GET /iresty/hello/world HTTP/1.1") == ["uri : /hello-world"])
        #expect(try Self.edits(settings, "GET /theothers/a/b HTTP/1.1") == ["uri : /theothers"])
    }

    @Test func regexGroupsReachHeaderValues() throws {
        let settings = "{regex_uri: ['^/v(\\d+)/(.*)', '/$2'], headers: {set: {X-Version: 'v$1', X-Raw: '$$1'}}}"
        #expect(
            try Self.edits(settings, "GET /v2/items HTTP/1.1")
                == ["uri : /items", "requestSet X-Version: v2", "requestSet X-Raw: $2"]
        )
    }

    @Test func realRequestURIMatchesTheWholeTargetAndIsSentAsIs() throws {
        let settings = "{regex_uri: ['^/a\\?q=(.*)$', '/b/$1'], use_real_request_uri_unsafe: true}"
        #expect(try Self.edits(settings, "GET /a?q=%2F HTTP/1.1") == ["uri : /b/%2F"])
        #expect(
            try Self.edits("{uri: '/x y', use_real_request_uri_unsafe: true}", "GET /a?q=1 HTTP/1.1") == ["uri : /x y"]
        )
    }

    @Test func hostAndMethod() throws {
        #expect(
            try Self.edits("{host: 'api.internal:8080', method: POST}") == [
                "host : api.internal:8080", "method : POST",
            ]
        )
    }

    @Test func headerActionsInAPISIXOrder() throws {
        let settings = """
            {headers: {add: {X-Added: one, X-Both: added}, set: {X-Set: 'id $request_id', X-Both: set, X-Gone: x}, \
            remove: [X-Gone, Cookie]}}
            """
        #expect(
            try Self.edits(settings)
                == [
                    "requestAdd X-Added: one", "requestSet X-Set: id abcdefghijklmnopqrstuvwxyzabcdef",
                    "requestSet X-Both: set", "requestRemove X-Gone: ", "requestRemove Cookie: ",
                ]
        )
    }

    @Test func flatHeadersMeanSetAndHostChangesTheUpstreamHost() throws {
        #expect(
            try Self.edits("{headers: {X-Api-Version: v1, X-Count: 3, Host: up.example, X-Client: $remote_addr}}")
                == [
                    "requestSet X-Api-Version: v1", "requestSet X-Count: 3", "host : up.example",
                    "requestSet X-Client: 127.0.0.1",
                ]
        )
    }

    @Test func configurationProblemsAreReportedWithKeyPaths() {
        let path = "routes[0].plugins.proxy-rewrite"
        #expect(PluginHarness.issues("proxy-rewrite", "{uri: new}").map(\.path) == ["\(path).uri"])
        #expect(PluginHarness.issues("proxy-rewrite", "{regex_uri: ['^/a']}").map(\.path) == ["\(path).regex_uri"])
        #expect(
            PluginHarness.issues("proxy-rewrite", "{regex_uri: ['(', '/']}").map(\.path) == ["\(path).regex_uri[0]"]
        )
        let group = PluginHarness.issues("proxy-rewrite", "{regex_uri: ['^/(a)', '/$2']}")
        #expect(group.map(\.path) == ["\(path).regex_uri[1]"])
        #expect(PluginHarness.issues("proxy-rewrite", "{scheme: https}").map(\.path) == ["\(path).scheme"])
        #expect(PluginHarness.issues("proxy-rewrite", "{scheme: http}").isEmpty)
        #expect(PluginHarness.issues("proxy-rewrite", "{method: FETCH}").map(\.path) == ["\(path).method"])
        #expect(PluginHarness.issues("proxy-rewrite", "{host: 'a b'}").map(\.path) == ["\(path).host"])
        let name = PluginHarness.issues("proxy-rewrite", "{headers: {set: {'Bad Name': x}}}")
        #expect(name.map(\.path) == ["\(path).headers.set.Bad Name"])
        let variable = PluginHarness.issues("proxy-rewrite", "{headers: {add: {X-A: '$balancer_ip'}}}")
        #expect(variable.map(\.path) == ["\(path).headers.add.X-A"])
        #expect(variable.first?.reason.contains("$balancer_ip") == true)
        #expect(
            PluginHarness.issues("proxy-rewrite", "{headers: {set: {X-A: '$1'}}}").map(\.path) == [
                "\(path).headers.set.X-A"
            ]
        )
        #expect(
            PluginHarness.issues("proxy-rewrite", "{headers: {remove: [Host]}}").map(\.path) == [
                "\(path).headers.remove"
            ]
        )
        #expect(PluginHarness.issues("proxy-rewrite", "{headers: {add: {}}}").map(\.path) == ["\(path).headers.add"])
        #expect(PluginHarness.issues("proxy-rewrite", "{headers: [a]}").map(\.path) == ["\(path).headers"])
        #expect(
            PluginHarness.issues("proxy-rewrite", "{headers: {set: {X-A: x}, other: 1}}").map(\.path) == [
                "\(path).headers.other"
            ]
        )
    }
}
