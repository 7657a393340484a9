import AccessLog
import Testing

@testable import Gateway

@Suite struct RealIPPluginTests {
    static let proxy = ClientAddress(ipv4: (10, 0, 0, 1))

    /// The client address after `real-ip` with `settings` ran on a request with `headers` from `peer`.
    static func client(
        _ settings: String,
        target: String = "/",
        headers: String = "",
        peer: ClientAddress = proxy
    ) throws -> String {
        let harness = PluginHarness()
        let plugin = try harness.compile("real-ip", settings)
        harness.begin("GET \(target) HTTP/1.1\r\nHost: h\r\n\(headers)\r\n", peer: peer)
        #expect(harness.run(plugin, .rewrite).proceeds)
        return harness.request.clientAddress.description
    }

    @Test func takesTheLastForwardedAddressFromAnyPeerWithoutTrustedAddresses() throws {
        let headers = "X-Forwarded-For: 198.51.100.9, 203.0.113.5\r\n"
        #expect(try Self.client("{source: http_x_forwarded_for}", headers: headers) == "203.0.113.5")
    }

    @Test func ignoresUntrustedPeers() throws {
        let headers = "X-Forwarded-For: 203.0.113.5\r\n"
        let settings = "{source: http_x_forwarded_for, trusted_addresses: [10.0.0.0/8]}"
        #expect(try Self.client(settings, headers: headers) == "203.0.113.5")
        #expect(try Self.client(settings, headers: headers, peer: ClientAddress(ipv4: (192, 0, 2, 1))) == "192.0.2.1")
    }

    @Test func recursiveSkipsTrustedProxiesFromTheRight() throws {
        let headers = "X-Forwarded-For: 198.51.100.1, 203.0.113.7, 10.1.1.1, 10.2.2.2\r\n"
        let trusted = "trusted_addresses: [10.0.0.0/8]"
        #expect(
            try Self.client("{source: http_x_forwarded_for, \(trusted), recursive: true}", headers: headers)
                == "203.0.113.7"
        )
        #expect(try Self.client("{source: http_x_forwarded_for, \(trusted)}", headers: headers) == "10.2.2.2")
    }

    @Test func recursiveTakesTheLeftmostWhenAllAreTrusted() throws {
        let headers = "X-Forwarded-For: 10.9.9.9,10.1.1.1\r\n"
        let settings = "{source: http_x_forwarded_for, trusted_addresses: [10.0.0.0/8], recursive: true}"
        #expect(try Self.client(settings, headers: headers) == "10.9.9.9")
    }

    @Test func recursiveWalksAcrossSeveralHeaders() throws {
        let headers = "X-Forwarded-For: 198.51.100.1, 10.3.3.3\r\nX-Forwarded-For: 10.1.1.1\r\n"
        let settings = "{source: http_x_forwarded_for, trusted_addresses: [10.0.0.0/8], recursive: true}"
        #expect(try Self.client(settings, headers: headers) == "198.51.100.1")
        // Without recursion APISIX reads the last header's last address.
        #expect(try Self.client("{source: http_x_forwarded_for}", headers: headers) == "10.1.1.1")
    }

    @Test func recursiveStopsAtAnEntryThatIsNotAnAddress() throws {
        let headers = "X-Forwarded-For: 198.51.100.1, unknown, 10.1.1.1\r\n"
        let settings = "{source: http_x_forwarded_for, trusted_addresses: [10.0.0.0/8], recursive: true}"
        #expect(try Self.client(settings, headers: headers) == "10.0.0.1")
    }

    @Test func readsOtherHeadersArgumentsAndCookies() throws {
        #expect(
            try Self.client("{source: http_x_real_ip}", headers: "X-Real-IP: [2001:db8::7]:443\r\n") == "2001:db8::7"
        )
        #expect(try Self.client("{source: arg_realip}", target: "/?a=1&realip=1.2.3.4:9080") == "1.2.3.4")
        #expect(
            try Self.client("{source: cookie_client}", headers: "Cookie: a=b; client=192.0.2.44\r\n") == "192.0.2.44"
        )
    }

    @Test func missingOrInvalidValuesChangeNothing() throws {
        #expect(try Self.client("{source: http_x_real_ip}") == "10.0.0.1")
        #expect(try Self.client("{source: http_x_real_ip}", headers: "X-Real-IP: not-an-ip\r\n") == "10.0.0.1")
        #expect(try Self.client("{source: http_x_real_ip}", headers: "X-Real-IP: 1.2.3.4:99999\r\n") == "10.0.0.1")
        #expect(
            try Self.client("{source: http_x_forwarded_for}", headers: "X-Forwarded-For: 1.2.3.4,\r\n") == "10.0.0.1"
        )
    }

    @Test func configurationProblemsAreReportedWithKeyPaths() {
        let path = "routes[0].plugins.real-ip"
        #expect(PluginHarness.issues("real-ip", "{}").map(\.path) == ["\(path).source"])
        let unsupported = PluginHarness.issues("real-ip", "{source: remote_addr}")
        #expect(unsupported.map(\.path) == ["\(path).source"])
        #expect(unsupported.first?.reason.contains("not supported") == true)
        let bad = PluginHarness.issues(
            "real-ip",
            "{source: http_x_real_ip, trusted_addresses: [10.0.0.0/8, 10.0.0.0/33]}"
        )
        #expect(bad.map(\.path) == ["\(path).trusted_addresses[1]"])
        #expect(bad.first?.reason.contains("from 0 to 32") == true)
        #expect(
            PluginHarness.issues("real-ip", "{source: arg_ip, trusted_addresses: []}").map(\.path) == [
                "\(path).trusted_addresses"
            ]
        )
        #expect(
            PluginHarness.issues("real-ip", "{source: arg_ip, recursive: yes please}").map(\.path) == [
                "\(path).recursive"
            ]
        )
        #expect(PluginHarness.issues("real-ip", "{source: arg_ip, sauce: 1}").map(\.path) == ["\(path).sauce"])
    }
}
