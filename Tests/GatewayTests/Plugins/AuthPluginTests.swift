import Testing

@testable import Gateway

/// key-auth, basic-auth and consumer-restriction against raw requests, and their settings' errors.
@Suite struct AuthPluginTests {
    static let consumers = ConsumerTable(
        names: ["jack", "rose", "anon"],
        credentials: [
            (0, .keyAuth(key: "jack-key")), (1, .keyAuth(key: "rose-key")),
            (0, .basicAuth(username: "jack", password: "pw:with:colons")),
        ],
        chains: []
    )

    @Test func keyAuthFindsTheConsumerFromTheHeaderThenTheQuery() throws {
        let harness = PluginHarness(consumers: Self.consumers)
        let plugin = try harness.compile("key-auth", "{}")
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\nApikey: rose-key\r\n\r\n")
        #expect(harness.run(plugin, .rewrite).proceeds)
        #expect(harness.request.consumer == 1)
        #expect(harness.request.consumerName.map { String(decoding: $0, as: UTF8.self) } == "rose")
        harness.begin("GET /?apikey=jack-key HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(harness.run(plugin, .rewrite).proceeds)
        #expect(harness.request.consumer == 0)
        #expect(harness.edits.isEmpty, "credentials stay unless hide_credentials")
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(harness.run(plugin, .rewrite).rejection?.status == 401)
        #expect(harness.run(plugin, .rewrite).rejection?.message == "Missing API key in request")
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\napikey: jack-keyX\r\n\r\n")
        #expect(harness.run(plugin, .rewrite).rejection?.message == "Invalid API key in request")
        #expect(harness.request.consumer == -1)
    }

    @Test func keyAuthHidesCredentialsAndFallsBackToAnonymous() throws {
        let harness = PluginHarness(consumers: Self.consumers)
        let plugin = try harness.compile(
            "key-auth",
            "{header: X-Key, query: k, hide_credentials: true, anonymous_consumer: anon}"
        )
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\nx-key: jack-key\r\n\r\n")
        #expect(harness.run(plugin, .rewrite).proceeds)
        #expect(harness.edits.map(\.0) == [.requestRemove])
        #expect(harness.edits.map(\.1) == ["X-Key"])
        harness.begin("GET /?a=1&k=rose-key HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(harness.run(plugin, .rewrite).proceeds)
        #expect(harness.edits.map(\.0) == [.removeQueryArgument])
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(harness.run(plugin, .rewrite).proceeds)
        #expect(harness.request.consumer == 2)
        #expect(throws: ConfigError.self) { try harness.compile("key-auth", "{anonymous_consumer: nobody}") }
    }

    @Test func basicAuthChecksUserAndPassword() throws {
        let harness = PluginHarness(consumers: Self.consumers)
        let plugin = try harness.compile("basic-auth", "{}")
        func authorize(_ header: String?) -> PluginVerdict {
            harness.begin("GET / HTTP/1.1\r\nHost: h\r\n" + (header.map { "Authorization: \($0)\r\n" } ?? "") + "\r\n")
            return harness.run(plugin, .rewrite)
        }
        // "jack:pw:with:colons"
        #expect(authorize("Basic amFjazpwdzp3aXRoOmNvbG9ucw==").proceeds)
        #expect(harness.request.consumer == 0)
        #expect(authorize("basic amFjazpwdzp3aXRoOmNvbG9ucw").proceeds, "scheme case and padding are lenient")
        #expect(authorize(nil).rejection?.message == "Missing authorization in request")
        #expect(harness.edits.contains { $0.1 == "WWW-Authenticate" })
        #expect(authorize("Bearer abc").rejection?.message == "Invalid authorization in request")
        #expect(authorize("Basic !!!").rejection?.message == "Invalid authorization in request")
        // "jack:wrong", "nobody:pw:with:colons"
        #expect(authorize("Basic amFjazp3cm9uZw==").rejection?.message == "Invalid user authorization")
        #expect(authorize("Basic bm9ib2R5OnB3OndpdGg6Y29sb25z").rejection?.message == "Invalid user authorization")
    }

    @Test func consumerRestrictionAllowsOrDeniesByName() throws {
        let harness = PluginHarness(consumers: Self.consumers)
        let allow = try harness.compile("consumer-restriction", "{whitelist: [jack]}")
        let deny = try harness.compile(
            "consumer-restriction",
            "{blacklist: [jack], rejected_code: 429, rejected_msg: \"no \\\"jack\\\"\"}"
        )
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(harness.run(allow, .access).rejection?.status == 401)
        harness.request.authenticate(consumer: 0)
        #expect(harness.run(allow, .access).proceeds)
        #expect(harness.run(deny, .access).rejection?.status == 429)
        #expect(harness.run(deny, .access).rejection?.message == #"no \"jack\""#)
        harness.request.authenticate(consumer: 1)
        #expect(harness.run(allow, .access).rejection?.message == "The consumer_name is forbidden.")
        #expect(harness.run(deny, .access).proceeds)
    }

    @Test func badSettingsNameTheirKeyPath() {
        let unknown = PluginHarness.issues("key-auth", "{hedaer: x}")
        #expect(unknown.map(\.path) == ["routes[0].plugins.key-auth.hedaer"])
        #expect(unknown.first?.reason.contains("did you mean \"header\"") == true, "\(unknown)")
        let badValue = PluginHarness.issues("key-auth", "{hide_credentials: maybe}")
        #expect(badValue.map(\.path) == ["routes[0].plugins.key-auth.hide_credentials"])
        let plugin = PluginHarness.issues("key-authh", "{}")
        #expect(plugin.map(\.path) == ["routes[0].plugins.key-authh"])
        #expect(plugin.first?.reason.contains("unknown plugin") == true)
        let both = PluginHarness.issues("consumer-restriction", "{whitelist: [a], blacklist: [b]}")
        #expect(both.map(\.path) == ["routes[0].plugins.consumer-restriction.blacklist"])
        let neither = PluginHarness.issues("consumer-restriction", "{}")
        #expect(neither.map(\.path) == ["routes[0].plugins.consumer-restriction"])
    }

    @Test func consumerCredentialsAreCheckedToo() {
        let yaml = """
            consumers:
              - username: a
                plugins:
                  key-auth: {}
                  basic-auth: {username: "a:b", password: x}
            """
        do {
            _ = try ConfigLoader.parse(yaml: yaml, sourceName: "test", environment: [:], resolveHostnames: false)
            Issue.record("accepted")
        } catch {
            #expect(
                error.issues.map(\.path).sorted() == [
                    "consumers[0].plugins.basic-auth.username", "consumers[0].plugins.key-auth.key",
                ]
            )
        }
    }
}
