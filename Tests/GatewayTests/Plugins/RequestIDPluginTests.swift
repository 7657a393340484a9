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
        #expect(try Self.edits("{include_in_response: false}") == ["omitRequestID : "])
    }

    /// The worker takes the id from `header_name` (``RequestIDHeaderTable``); the plugin sends the request's
    /// id under that name instead of X-Request-Id.
    @Test func anotherHeaderCarriesTheRequestsIDInsteadOfXRequestID() throws {
        #expect(
            try Self.edits("{header_name: X-Trace}", headers: "X-Trace: trace-42\r\n")
                == [
                    "requestRemove X-Request-Id: ", "requestSet X-Trace: \(Self.gatewayID)", "omitRequestID : ",
                    "responseSet X-Trace: \(Self.gatewayID)",
                ]
        )
        #expect(
            try Self.edits("{header_name: X-Trace, include_in_response: false}")
                == ["requestRemove X-Request-Id: ", "requestSet X-Trace: \(Self.gatewayID)", "omitRequestID : "]
        )
    }

    /// The header the worker reads a request's id from, per route: the route's plugin, else a global rule's.
    @Test func theHeaderTableFollowsRoutesThenGlobalRules() throws {
        func names(_ global: String) throws -> (renamed: Bool, a: String, b: String) {
            let yaml = """
                upstreams: [{id: u, nodes: {"127.0.0.1:9": 1}}]
                \(global)
                routes:
                  - {id: a, uri: /a, upstream_id: u, plugins: {request-id: {header_name: X-Trace}}}
                  - {id: b, uri: /b, upstream_id: u}
                """
            let config = try ConfigLoader.parse(yaml: yaml, sourceName: "t", environment: [:], resolveHostnames: false)
            let plan = try ProxyPlan(config: config)
            let table = plan.plugins.requestIDHeaders
            func name(_ path: StaticString) -> String {
                let route = plan.routeTable.match(
                    method: .get,
                    host: UnsafeRawBufferPointer("h"),
                    path: UnsafeRawBufferPointer(path)
                )
                return String(decoding: table.name(route: route), as: UTF8.self)
            }
            return (table.renamed, name("/a"), name("/b"))
        }
        let routeOnly = try names("")
        #expect(routeOnly.renamed && routeOnly.a == "X-Trace" && routeOnly.b == "")
        let withGlobal = try names("global_rules: [{id: g, plugins: {request-id: {header_name: X-Global}}}]")
        #expect(withGlobal.renamed && withGlobal.a == "X-Trace" && withGlobal.b == "X-Global")
    }

    @Test func aConsumerCannotRenameTheHeader() throws {
        let harness = PluginHarness()
        #expect(throws: ConfigError.self) {
            try harness.compile("request-id", "{header_name: X-Trace}", scope: .consumer("jack"))
        }
        _ = try harness.compile("request-id", "{include_in_response: false}", scope: .consumer("jack"))
    }

    @Test func clientIDsAreKeptOnlyWhenSane() {
        #expect(RequestIDHeaderTable.isSane(UnsafeRawBufferPointer("trace-42")))
        #expect(!RequestIDHeaderTable.isSane(UnsafeRawBufferPointer("")))
        #expect(!RequestIDHeaderTable.isSane(UnsafeRawBufferPointer("a b")))
        #expect(!RequestIDHeaderTable.isSane(UnsafeRawBufferPointer("a\"b")))
        #expect(!RequestIDHeaderTable.isSane(UnsafeRawBufferPointer("a\\b")))
        #expect([UInt8](repeating: 0x78, count: 64).withUnsafeBytes { RequestIDHeaderTable.isSane($0) })
        #expect(![UInt8](repeating: 0x78, count: 65).withUnsafeBytes { RequestIDHeaderTable.isSane($0) })
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
