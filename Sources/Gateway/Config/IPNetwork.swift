#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 network in CIDR notation ("10.0.0.0/8", "::1/128"); a bare address is one host.
package struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The network address in network byte order, host bits zero: 4 bytes for IPv4, 16 for IPv6.
    package private(set) var address: [UInt8]
    /// How many leading bits an address must share with ``address``: 0...32, or 0...128 for IPv6.
    package private(set) var prefixLength: Int

    /// `127.0.0.0/8` and `::1/128`: the default of `admin.allow`.
    package static let loopback: [IPNetwork] = [
        IPNetwork(address: [127, 0, 0, 0], prefixLength: 8),
        IPNetwork(address: Array(repeating: 0, count: 15) + [1], prefixLength: 128),
    ]

    private init(address: [UInt8], prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses "address/prefix" or a bare address. Host bits must be zero ("10.0.0.1/8" is refused with
    /// the network it probably means), so a typo does not silently widen or narrow the network.
    package init(parsing text: String) throws(AddressError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let host = String(parts[0])
        guard let bytes = Self.bytes(of: host) else {
            throw AddressError("\"\(text)\" is not an IPv4 or IPv6 network such as \"10.0.0.0/8\" or \"fd00::/8\"")
        }
        let maximum = bytes.count * 8
        var length = maximum
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0 >= "0" && $0 <= "9" }),
                let value = Int(digits), value <= maximum
            else {
                throw AddressError("prefix length in \"\(text)\" must be a number from 0 to \(maximum)")
            }
            length = value
        }
        let network = IPNetwork(address: Self.masked(bytes, to: length), prefixLength: length)
        guard network.address == bytes else {
            throw AddressError("\"\(text)\" has host bits set; the network is \"\(network)\"")
        }
        self = network
    }

    /// Whether ``address`` is IPv6.
    package var isIPv6: Bool { address.count == 16 }

    /// Whether `bytes` (a raw IPv4 or IPv6 address in network byte order) is in this network. An
    /// IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, how a dual-stack socket reports an IPv4 client) counts as
    /// its IPv4 address.
    package func contains(_ bytes: [UInt8]) -> Bool {
        var candidate = bytes
        if candidate.count == 16, !isIPv6, candidate.prefix(10).allSatisfy({ $0 == 0 }),
            candidate[10] == 0xFF, candidate[11] == 0xFF
        {
            candidate = Array(candidate.suffix(4))
        }
        guard candidate.count == address.count else { return false }
        return Self.masked(candidate, to: prefixLength) == address
    }

    /// "10.0.0.0/8", "::1/128".
    package var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = isIPv6 ? AF_INET6 : AF_INET
        _ = address.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &text, socklen_t(text.count)) }
        let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(host)/\(prefixLength)"
    }

    private static func bytes(of host: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    private static func masked(_ bytes: [UInt8], to length: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bits = min(max(length - index * 8, 0), 8)
            return bits == 8 ? byte : byte & ~(UInt8(0xFF) >> bits)
        }
    }
}
