import Testing

@testable import Gateway

@Suite struct ResponseRewritePluginTests {
    @Test func setsTheStatusAndHeadersInHeaderFilter() throws {
        let harness = PluginHarness()
        let settings = """
            {status_code: 202, headers: {add: {X-Served-By: gateway}, set: {X-Status: 'was $status/$upstream_status', \
            X-Client: $remote_addr}, remove: [Server]}}
            """
        let plugin = try harness.compile("response-rewrite", settings)
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        harness.respond(status: 200, upstreamStatus: 200)
        _ = harness.run(plugin, .headerFilter)
        #expect(harness.state.pointee.statusOverride == 202)
        #expect(
            harness.edits.map { "\($0.0) \($0.1): \($0.2)" } == [
                "responseAdd X-Served-By: gateway", "responseSet X-Status: was 200/200",
                "responseSet X-Client: 127.0.0.1", "responseRemove Server: ",
            ]
        )
    }

    @Test func flatHeadersMeanSet() throws {
        let harness = PluginHarness()
        let plugin = try harness.compile("response-rewrite", "{headers: {X-Id: $request_id}}")
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        harness.respond(status: 502)
        _ = harness.run(plugin, .headerFilter)
        #expect(harness.state.pointee.statusOverride == 0)
        #expect(
            harness.edits.map { "\($0.0) \($0.1): \($0.2)" } == ["responseSet X-Id: abcdefghijklmnopqrstuvwxyzabcdef"]
        )
    }

    @Test func bodyRewritingAndConditionsAreReportedAsNotSupported() {
        let path = "routes[0].plugins.response-rewrite"
        #expect(PluginHarness.issues("response-rewrite", "{body: hello}").map(\.path) == ["\(path).body"])
        #expect(PluginHarness.issues("response-rewrite", "{body_base64: true}").map(\.path) == ["\(path).body_base64"])
        #expect(PluginHarness.issues("response-rewrite", "{body_base64: false, status_code: 200}").isEmpty)
        #expect(
            PluginHarness.issues("response-rewrite", "{filters: [{regex: a, replace: b}]}").map(\.path) == [
                "\(path).filters"
            ]
        )
        #expect(
            PluginHarness.issues("response-rewrite", "{vars: [[status, '==', 200]]}").map(\.path) == ["\(path).vars"]
        )
    }

    @Test func otherConfigurationProblemsAreReportedWithKeyPaths() {
        let path = "routes[0].plugins.response-rewrite"
        #expect(PluginHarness.issues("response-rewrite", "{status_code: 99}").map(\.path) == ["\(path).status_code"])
        let gone = PluginHarness.issues("response-rewrite", "{headers: {set: {X-Path: $uri}}}")
        #expect(gone.map(\.path) == ["\(path).headers.set.X-Path"])
        #expect(gone.first?.reason.contains("not available") == true)
        #expect(
            PluginHarness.issues("response-rewrite", "{headers: {set: {X-A: \"a\\nb\"}}}").map(\.path)
                == ["\(path).headers.set.X-A"]
        )
    }
}
