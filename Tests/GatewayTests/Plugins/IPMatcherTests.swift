import AccessLog
import Testing

@testable import Gateway

@Suite struct IPMatcherTests {
    static func address(_ text: String) -> ClientAddress? {
        Array(text.utf8).withUnsafeBytes { IPAddressText.parseWithOptionalPort($0) }
    }

    static func matcher(_ entries: [String]) throws -> IPMatcher {
        IPMatcher(try entries.map { try IPMatcher.parse($0).get() })
    }

    @Test func parsesIPv4WithAndWithoutPort() {
        #expect(Self.address("1.2.3.4")?.description == "1.2.3.4")
        #expect(Self.address(" 10.0.0.255:8080 ")?.description == "10.0.0.255")
        #expect(Self.address("0.0.0.0")?.description == "0.0.0.0")
        for bad in [
            "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "a.b.c.d", "",
        ] {
            #expect(Self.address(bad) == nil, "\(bad)")
        }
    }

    @Test func parsesIPv6Forms() {
        #expect(Self.address("::1")?.description == "::1")
        #expect(Self.address("::")?.description == "::")
        #expect(Self.address("2001:db8::8:800:200c:417a")?.description == "2001:db8::8:800:200c:417a")
        #expect(Self.address("2001:DB8:0:0:8:800:200C:417A")?.description == "2001:db8::8:800:200c:417a")
        #expect(Self.address("fe80::")?.description == "fe80::")
        #expect(Self.address("::ffff:192.0.2.1")?.description == "::ffff:192.0.2.1")
        #expect(Self.address("[::1]:443")?.description == "::1")
        #expect(Self.address("[2001:db8::1]")?.description == "2001:db8::1")
        for bad in [
            ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "1::2:3:4:5:6:7:8", "12345::", "fe80::1%eth0", "[::1", "[::1]:0",
            "[::1]x", ":1", "1:", "::1.2.3", "1:2:3:4:5:6:7",
        ] {
            #expect(Self.address(bad) == nil, "\(bad)")
        }
    }

    @Test func matchesIPv4NetworksOfEveryLength() throws {
        let matcher = try Self.matcher(["10.0.0.0/8", "192.168.1.7", "172.16.0.0/12"])
        #expect(matcher.count == 3)
        #expect(matcher.contains(ClientAddress(ipv4: (10, 200, 3, 4))))
        #expect(matcher.contains(ClientAddress(ipv4: (192, 168, 1, 7))))
        #expect(!matcher.contains(ClientAddress(ipv4: (192, 168, 1, 8))))
        #expect(matcher.contains(ClientAddress(ipv4: (172, 31, 255, 255))))
        #expect(!matcher.contains(ClientAddress(ipv4: (172, 32, 0, 0))))
        #expect(!matcher.contains(ClientAddress()))
    }

    @Test func hostBitsAreMaskedAsAPISIXDoes() throws {
        let matcher = try Self.matcher(["192.168.0.1/24"])
        #expect(matcher.contains(ClientAddress(ipv4: (192, 168, 0, 200))))
        #expect(!matcher.contains(ClientAddress(ipv4: (192, 168, 1, 1))))
    }

    @Test func matchesIPv6AndMappedIPv4() throws {
        let matcher = try Self.matcher(["2001:db8::/32", "::1", "10.0.0.0/8"])
        #expect(matcher.contains(try #require(Self.address("2001:db8:ffff::1"))))
        #expect(!matcher.contains(try #require(Self.address("2001:db9::1"))))
        #expect(matcher.contains(try #require(Self.address("::1"))))
        #expect(matcher.contains(try #require(Self.address("::ffff:10.1.2.3"))))
        #expect(!matcher.contains(try #require(Self.address("::ffff:11.1.2.3"))))
        #expect(!matcher.contains(ClientAddress(ipv4: (0, 0, 0, 1))))
    }

    @Test func zeroPrefixMatchesItsFamilyOnly() throws {
        let v4 = try Self.matcher(["0.0.0.0/0"])
        #expect(v4.contains(ClientAddress(ipv4: (8, 8, 8, 8))))
        #expect(!v4.contains(try #require(Self.address("2001:db8::1"))))
        let v6 = try Self.matcher(["::/0"])
        #expect(v6.contains(try #require(Self.address("2001:db8::1"))))
        #expect(!v6.contains(ClientAddress(ipv4: (8, 8, 8, 8))))
    }

    @Test func badEntriesSayWhy() {
        #expect(throws: IPMatcher.ParseError.self) { try IPMatcher.parse("10.0.0.0/33").get() }
        #expect(throws: IPMatcher.ParseError.self) { try IPMatcher.parse("::/129").get() }
        #expect(throws: IPMatcher.ParseError.self) { try IPMatcher.parse("example.com").get() }
        #expect(throws: IPMatcher.ParseError.self) { try IPMatcher.parse("10.0.0.0/").get() }
        #expect(throws: IPMatcher.ParseError.self) { try IPMatcher.parse("").get() }
    }
}
