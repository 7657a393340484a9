#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A client's IP address stored inline (16 bytes), IPv4 or IPv6, printed without the port.
public struct ClientAddress: Sendable, Hashable {
    /// The address family.
    public enum Family: UInt8, Sendable {
        case unknown, ipv4, ipv6
    }

    /// IPv4 in the first 4 bytes or IPv6 in all 16, network byte order.
    @usableFromInline var storage: (UInt64, UInt64)
    /// The address family; `.unknown` prints as `-`.
    public var family: Family

    /// An unknown address, printed as `-`.
    @inlinable
    public init() {
        self.storage = (0, 0)
        self.family = .unknown
    }

    /// An IPv4 address from its four octets, e.g. `ClientAddress(ipv4: (127, 0, 0, 1))`.
    public init(ipv4 octets: (UInt8, UInt8, UInt8, UInt8)) {
        self.storage = (0, 0)
        self.family = .ipv4
        withUnsafeMutableBytes(of: &self.storage) { raw in
            raw[0] = octets.0
            raw[1] = octets.1
            raw[2] = octets.2
            raw[3] = octets.3
        }
    }

    /// An IPv4 address as found in `sockaddr_in.sin_addr`.
    public init(_ address: in_addr) {
        self.storage = (0, 0)
        self.family = .ipv4
        withUnsafeMutableBytes(of: &self.storage) { raw in
            raw.storeBytes(of: address, as: in_addr.self)
        }
    }

    /// An IPv6 address as found in `sockaddr_in6.sin6_addr`.
    public init(_ address: in6_addr) {
        self.storage = (0, 0)
        self.family = .ipv6
        withUnsafeMutableBytes(of: &self.storage) { raw in
            raw.storeBytes(of: address, as: in6_addr.self)
        }
    }

    /// Calls `body` with the address bytes in network byte order: 4 for IPv4, 16 for IPv6, none if unknown.
    @inlinable
    public func withAddressBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        var storage = self.storage
        let count = family == .ipv4 ? 4 : family == .ipv6 ? 16 : 0
        return withUnsafeBytes(of: &storage) { body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    /// An address from its bytes in network byte order (4 for IPv4, 16 for IPv6); unknown otherwise.
    public init(bytes: UnsafeRawBufferPointer) {
        self.storage = (0, 0)
        self.family = bytes.count == 4 ? .ipv4 : bytes.count == 16 ? .ipv6 : .unknown
        guard family != .unknown else { return }
        withUnsafeMutableBytes(of: &self.storage) { raw in
            raw.copyMemory(from: bytes)
        }
    }

    /// Writes the textual address into `buffer` (at least 46 bytes); returns its length, 0 if unknown.
    public func write(into buffer: UnsafeMutableRawPointer) -> Int {
        format(into: buffer)
    }

    /// Writes the textual address into `buffer` (at least 46 bytes); returns the length, 0 if unknown.
    func format(into buffer: UnsafeMutableRawPointer) -> Int {
        switch self.family {
        case .unknown: return 0
        case .ipv4: return self.formatIPv4(into: buffer.assumingMemoryBound(to: UInt8.self))
        case .ipv6:
            var storage = self.storage
            return withUnsafeBytes(of: &storage) { raw in
                let out = buffer.assumingMemoryBound(to: CChar.self)
                guard inet_ntop(AF_INET6, raw.baseAddress, out, 46) != nil else { return 0 }
                return strlen(out)
            }
        }
    }

    /// Dotted-quad text written directly: every access-log line has one, and `inet_ntop` costs a
    /// library call plus `strlen`.
    @inline(__always)
    private func formatIPv4(into out: UnsafeMutablePointer<UInt8>) -> Int {
        let pairs = digitPairs.utf8Start
        var length = 0
        var address = self.storage.0.littleEndian
        for octetIndex in 0..<4 {
            let octet = Int(truncatingIfNeeded: address & 0xFF)
            address >>= 8
            if octetIndex > 0 {
                out[length] = UInt8(ascii: ".")
                length &+= 1
            }
            if octet >= 100 {
                out[length] = UInt8(truncatingIfNeeded: octet / 100) &+ 48
                let pair = (octet % 100) &* 2
                out[length &+ 1] = pairs[pair]
                out[length &+ 2] = pairs[pair &+ 1]
                length &+= 3
            } else if octet >= 10 {
                out[length] = pairs[octet &* 2]
                out[length &+ 1] = pairs[octet &* 2 &+ 1]
                length &+= 2
            } else {
                out[length] = UInt8(truncatingIfNeeded: octet) &+ 48
                length &+= 1
            }
        }
        return length
    }

    /// The textual address (allocates; for tests and tools).
    public var description: String {
        withUnsafeTemporaryAllocation(byteCount: 64, alignment: 1) { buffer in
            let length = self.format(into: buffer.baseAddress!)
            return length == 0
                ? "-" : String(decoding: UnsafeRawBufferPointer(rebasing: buffer[0..<length]), as: UTF8.self)
        }
    }

    /// Equality over the family and the address bytes.
    public static func == (lhs: ClientAddress, rhs: ClientAddress) -> Bool {
        lhs.family == rhs.family && lhs.storage.0 == rhs.storage.0 && lhs.storage.1 == rhs.storage.1
    }

    /// Hashes the family and the address bytes.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.family)
        hasher.combine(self.storage.0)
        hasher.combine(self.storage.1)
    }
}
