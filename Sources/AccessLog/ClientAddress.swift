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

    /// Writes the textual address into `buffer` (at least 46 bytes); returns the length, 0 if unknown.
    func format(into buffer: UnsafeMutableRawPointer) -> Int {
        var storage = self.storage
        let af: Int32
        switch self.family {
        case .unknown: return 0
        case .ipv4: af = AF_INET
        case .ipv6: af = AF_INET6
        }
        return withUnsafeBytes(of: &storage) { raw in
            let out = buffer.assumingMemoryBound(to: CChar.self)
            guard inet_ntop(af, raw.baseAddress, out, 46) != nil else { return 0 }
            return strlen(out)
        }
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
