import Testing

@testable import Gateway

@Suite struct RequestIDPluginTests {
    static func edits(_ settings: String, headers: String = "") throws -> [String] {
        let harness = PluginHarness()
        let plugin = try harness.compile("request-id", settings)
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\(headers)\r\n")
        #expect(harness.run(plugin, .rewrite).proceeds)
        return harness.edits.map { "\($0.0) \($0.1): \($0.2)" }
    }

    static let gatewayID = "abcdefghijklmnopqrstuvwxyzabcdef"

    @Test func theDefaultHeaderIsTheGatewaysOwn() throws {
        #expect(try Self.edits("{}").isEmpty)
        #expect(try Self.edits("{header_name: x-request-id, algorithm: uuid}").isEmpty)
        #expect(try Self.edits("{include_in_response: false}") == ["responseRemove X-Request-Id: "])
    }

    @Test func anotherHeaderCarriesTheClientsSaneValueOrTheGatewaysID() throws {
        #expect(
            try Self.edits("{header_name: X-Trace}", headers: "X-Trace: trace-42\r\n")
                == ["requestSet X-Trace: trace-42", "responseSet X-Trace: trace-42"]
        )
        let long = String(repeating: "x", count: 65)
        #expect(
            try Self.edits("{header_name: X-Trace}", headers: "X-Trace: \(long)\r\n")
                == ["requestSet X-Trace: \(Self.gatewayID)", "responseSet X-Trace: \(Self.gatewayID)"]
        )
        #expect(
            try Self.edits("{header_name: X-Trace, include_in_response: false}")
                == ["requestSet X-Trace: \(Self.gatewayID)", "responseRemove X-Trace: "]
        )
    }

    @Test func configurationProblemsAreReportedWithKeyPaths() {
        let path = "routes[0].plugins.request-id"
        #expect(PluginHarness.issues("request-id", "{algorithm: nanoid}").map(\.path) == ["\(path).algorithm"])
        #expect(PluginHarness.issues("request-id", "{algorithm: snowflake}").map(\.path) == ["\(path).algorithm"])
        #expect(PluginHarness.issues("request-id", "{header_name: 'X Trace'}").map(\.path) == ["\(path).header_name"])
        #expect(PluginHarness.issues("request-id", "{range_id: {char_set: abcdefg, length: 16}}").isEmpty)
        #expect(PluginHarness.issues("request-id", "{range_id: {size: 3}}").map(\.path) == ["\(path).range_id.size"])
        #expect(
            PluginHarness.issues("request-id", "{include_in_response: maybe}").map(\.path) == [
                "\(path).include_in_response"
            ]
        )
    }
}
