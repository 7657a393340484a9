import Glibc

extension SocketAddress {
    /// The IP address in network byte order: 4 bytes for IPv4, 16 for IPv6 (empty for anything else).
    var addressBytes: [UInt8] {
        let family = Int32(storage.ss_family)
        return withUnsafeBytes(of: storage) { raw -> [UInt8] in
            switch family {
            case AF_INET:
                let offset = MemoryLayout<sockaddr_in>.offset(of: \sockaddr_in.sin_addr)!
                return Array(raw[offset..<(offset + 4)])
            case AF_INET6:
                let offset = MemoryLayout<sockaddr_in6>.offset(of: \sockaddr_in6.sin6_addr)!
                return Array(raw[offset..<(offset + 16)])
            default:
                return []
            }
        }
    }
}
