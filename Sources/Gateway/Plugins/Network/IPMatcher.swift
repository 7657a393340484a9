import AccessLog

/// A set of IPv4 and IPv6 networks (`ip-restriction` lists, `real-ip` trusted proxies), compiled so that
/// asking whether an address is in it costs a binary search per distinct prefix length and never
/// allocates.
///
/// Networks are grouped by prefix length; each group is a sorted array of network addresses, and an
/// address is masked to the group's length and looked up. An IPv4-mapped IPv6 address
/// (`::ffff:a.b.c.d`, how a dual-stack socket reports an IPv4 client) is also looked up as its IPv4
/// address, as ``IPNetwork/contains(_:)`` does.
package final class IPMatcher: @unchecked Sendable {
    /// One parsed entry: the address bytes (4 or 16) and the prefix length.
    package struct Network: Sendable, Equatable {
        package var bytes: [UInt8]
        package var prefixLength: Int
    }

    private struct Group {
        var prefixLength: Int
        var start: Int
        var count: Int
    }

    private let v4Keys: UnsafeMutablePointer<UInt32>
    private let v4Groups: UnsafeMutablePointer<Group>
    private let v4GroupCount: Int
    private let v6Keys: UnsafeMutablePointer<UInt128>
    private let v6Groups: UnsafeMutablePointer<Group>
    private let v6GroupCount: Int
    /// Number of networks (after removing duplicates).
    package let count: Int

    /// Parses an address ("10.0.0.1", "::1") or a CIDR ("10.0.0.0/8", "fd00::/8"). Host bits may be set
    /// ("192.168.0.1/24" means 192.168.0.0/24), as APISIX's matcher allows. Returns the reason otherwise.
    package static func parse(_ text: String) -> Result<Network, ParseError> {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let host = String(parts[0])
        // IPNetwork parses the address itself (a bare address is one host, so host bits cannot be set).
        guard !host.isEmpty, let address = try? IPNetwork(parsing: host) else {
            return .failure(ParseError("\"\(text)\" is not an IPv4 or IPv6 address or CIDR such as \"10.0.0.0/8\""))
        }
        let maximum = address.address.count * 8
        var length = maximum
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0 >= "0" && $0 <= "9" }),
                let value = Int(digits), value <= maximum
            else {
                return .failure(ParseError("prefix length in \"\(text)\" must be a number from 0 to \(maximum)"))
            }
            length = value
        }
        return .success(Network(bytes: address.address, prefixLength: length))
    }

    /// Why an entry does not parse.
    package struct ParseError: Error, CustomStringConvertible {
        package let description: String
        init(_ description: String) { self.description = description }
    }

    package init(_ networks: [Network]) {
        var v4: [Int: Set<UInt32>] = [:]
        var v6: [Int: Set<UInt128>] = [:]
        for network in networks {
            if network.bytes.count == 4 {
                let value = network.bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                v4[network.prefixLength, default: []].insert(value & Self.mask32(network.prefixLength))
            } else if network.bytes.count == 16 {
                let value = network.bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
                v6[network.prefixLength, default: []].insert(value & Self.mask128(network.prefixLength))
            }
        }
        (v4Keys, v4Groups, v4GroupCount) = Self.layout(v4)
        (v6Keys, v6Groups, v6GroupCount) = Self.layout(v6)
        count = v4.values.reduce(0) { $0 + $1.count } + v6.values.reduce(0) { $0 + $1.count }
    }

    deinit {
        v4Keys.deallocate()
        v4Groups.deallocate()
        v6Keys.deallocate()
        v6Groups.deallocate()
    }

    /// Whether `address` is in one of the networks (an unknown address never is).
    package func contains(_ address: ClientAddress) -> Bool {
        address.withAddressBytes { bytes in
            if bytes.count == 4 {
                return containsV4(UInt32(bigEndian: bytes.loadUnaligned(as: UInt32.self)))
            }
            guard bytes.count == 16 else { return false }
            let high = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
            let low = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            if containsV6(UInt128(high) << 64 | UInt128(low)) { return true }
            if high == 0 && low >> 32 == 0xFFFF {
                return containsV4(UInt32(truncatingIfNeeded: low))
            }
            return false
        }
    }

    private func containsV4(_ value: UInt32) -> Bool {
        var group = 0
        while group < v4GroupCount {
            let entry = v4Groups[group]
            if Self.search(v4Keys + entry.start, entry.count, value & Self.mask32(entry.prefixLength)) { return true }
            group &+= 1
        }
        return false
    }

    private func containsV6(_ value: UInt128) -> Bool {
        var group = 0
        while group < v6GroupCount {
            let entry = v6Groups[group]
            if Self.search(v6Keys + entry.start, entry.count, value & Self.mask128(entry.prefixLength)) { return true }
            group &+= 1
        }
        return false
    }

    @inline(__always)
    private static func search<Key: FixedWidthInteger>(
        _ keys: UnsafeMutablePointer<Key>,
        _ count: Int,
        _ key: Key
    ) -> Bool {
        var lower = 0
        var upper = count
        while lower < upper {
            let middle = (lower &+ upper) >> 1
            let candidate = keys[middle]
            if candidate == key { return true }
            if candidate < key { lower = middle &+ 1 } else { upper = middle }
        }
        return false
    }

    @inline(__always)
    private static func mask32(_ length: Int) -> UInt32 {
        length == 0 ? 0 : UInt32.max << UInt32(32 &- length)
    }

    @inline(__always)
    private static func mask128(_ length: Int) -> UInt128 {
        length == 0 ? 0 : UInt128.max << UInt128(128 &- length)
    }

    private static func layout<Key: FixedWidthInteger>(
        _ groups: [Int: Set<Key>]
    ) -> (UnsafeMutablePointer<Key>, UnsafeMutablePointer<Group>, Int) {
        let total = groups.values.reduce(0) { $0 + $1.count }
        let keys = UnsafeMutablePointer<Key>.allocate(capacity: max(1, total))
        let table = UnsafeMutablePointer<Group>.allocate(capacity: max(1, groups.count))
        var offset = 0
        // Longest prefixes first: single hosts are the commonest entries.
        for (index, length) in groups.keys.sorted(by: >).enumerated() {
            let sorted = groups[length]!.sorted()
            (keys + offset).initialize(from: sorted, count: sorted.count)
            (table + index).initialize(to: Group(prefixLength: length, start: offset, count: sorted.count))
            offset += sorted.count
        }
        return (keys, table, groups.count)
    }
}

extension IPMatcher {
    /// Reads the list of addresses and CIDRs at `key` of a plugin's settings, reporting each bad entry
    /// with its index; nil when the key is absent or an entry is wrong.
    static func read(_ settings: inout PluginSettings, _ key: String) -> IPMatcher? {
        guard let list = settings.stringList(key) else { return nil }
        guard !list.isEmpty else {
            settings.report(key, "must list at least one address or CIDR")
            return nil
        }
        var networks: [IPMatcher.Network] = []
        var failed = false
        for (index, text) in list.enumerated() {
            switch IPMatcher.parse(text) {
            case .success(let network): networks.append(network)
            case .failure(let error):
                settings.report("\(key)[\(index)]", error.description)
                failed = true
            }
        }
        return failed ? nil : IPMatcher(networks)
    }
}
