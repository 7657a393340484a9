import AccessLog
import Testing

@testable import Gateway

@Suite struct IPRestrictionPluginTests {
    /// The outcome for `client`, read while the plugin (which owns the message bytes) is alive.
    static func verdict(_ settings: String, client: ClientAddress) throws -> Outcome {
        let harness = PluginHarness()
        let plugin = try harness.compile("ip-restriction", settings)
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n", peer: client)
        let verdict = harness.run(plugin, .access)
        return withExtendedLifetime(plugin) { Outcome(proceeds: verdict.proceeds, rejection: verdict.rejection) }
    }

    struct Outcome {
        var proceeds: Bool
        var rejection: (status: Int, message: String)?
    }

    @Test func whitelistLetsOnlyListedAddressesThrough() throws {
        let settings = "{whitelist: [127.0.0.1, 192.168.0.1/24, '2001:db8::/32']}"
        #expect(try Self.verdict(settings, client: ClientAddress(ipv4: (127, 0, 0, 1))).proceeds)
        #expect(try Self.verdict(settings, client: ClientAddress(ipv4: (192, 168, 0, 99))).proceeds)
        let rejected = try Self.verdict(settings, client: ClientAddress(ipv4: (192, 168, 1, 1)))
        #expect(rejected.rejection?.status == 403)
        #expect(rejected.rejection?.message == "Your IP address is not allowed")
        #expect(try Self.verdict(settings, client: ClientAddress()).rejection?.status == 403)
    }

    @Test func blacklistKeepsListedAddressesOut() throws {
        let settings = "{blacklist: [10.0.0.0/8], response_code: 404, message: 'Go \"away\"'}"
        #expect(try Self.verdict(settings, client: ClientAddress(ipv4: (11, 0, 0, 1))).proceeds)
        let rejected = try Self.verdict(settings, client: ClientAddress(ipv4: (10, 9, 8, 7)))
        #expect(rejected.rejection?.status == 404)
        #expect(rejected.rejection?.message == "Go \\\"away\\\"")
    }

    @Test func checksTheClientAddressRealIPSet() throws {
        let harness = PluginHarness()
        let plugin = try harness.compile("ip-restriction", "{whitelist: [203.0.113.0/24]}")
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n", peer: ClientAddress(ipv4: (10, 0, 0, 1)))
        #expect(harness.run(plugin, .access).rejection != nil)
        harness.request.clientAddress = ClientAddress(ipv4: (203, 0, 113, 8))
        #expect(harness.run(plugin, .access).proceeds)
    }

    @Test func configurationProblemsAreReportedWithKeyPaths() {
        let path = "routes[0].plugins.ip-restriction"
        #expect(PluginHarness.issues("ip-restriction", "{}").map(\.path) == [path])
        #expect(
            PluginHarness.issues("ip-restriction", "{whitelist: [1.1.1.1], blacklist: [2.2.2.2]}").map(\.path)
                == ["\(path).blacklist"]
        )
        let bad = PluginHarness.issues("ip-restriction", "{whitelist: [1.1.1.1, example.com]}")
        #expect(bad.map(\.path) == ["\(path).whitelist[1]"])
        #expect(PluginHarness.issues("ip-restriction", "{blacklist: []}").map(\.path) == ["\(path).blacklist"])
        #expect(
            PluginHarness.issues("ip-restriction", "{blacklist: [1.1.1.1], response_code: 500}").map(\.path)
                == ["\(path).response_code"]
        )
        #expect(
            PluginHarness.issues("ip-restriction", "{blacklist: [1.1.1.1], message: ''}").map(\.path)
                == ["\(path).message"]
        )
        let long = String(repeating: "x", count: 1025)
        #expect(
            PluginHarness.issues("ip-restriction", "{blacklist: [1.1.1.1], message: \(long)}").map(\.path)
                == ["\(path).message"]
        )
    }
}
