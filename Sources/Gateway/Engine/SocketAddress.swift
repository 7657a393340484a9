import CLiburing
import Glibc

/// An IPv4 or IPv6 socket address stored inline, so connects never allocate.
public struct SocketAddress: Sendable, Equatable, CustomStringConvertible {
    package var storage: sockaddr_storage
    package var length: socklen_t

    /// Parses a numeric `host` ("127.0.0.1", "::1", "localhost" is mapped to 127.0.0.1) and a port.
    package init?(host: String, port: UInt16) {
        storage = sockaddr_storage()
        var literal = host
        if literal.hasPrefix("[") && literal.hasSuffix("]") { literal = String(literal.dropFirst().dropLast()) }
        if literal.isEmpty || literal == "*" { literal = "0.0.0.0" }
        if literal == "localhost" { literal = "127.0.0.1" }
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, literal, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: v4) { raw.copyMemory(from: $0) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            return
        }
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET6, literal, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: v6) { raw.copyMemory(from: $0) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            return
        }
        return nil
    }

    /// Resolves a host name (or literal) with getaddrinfo; used at config load, never on a worker.
    package static func resolve(host: String, port: UInt16) -> SocketAddress? {
        if let literal = SocketAddress(host: host, port: port) { return literal }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>? = nil
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(result) }
        var address = SocketAddress(host: "0.0.0.0", port: port)!
        address.length = first.pointee.ai_addrlen
        withUnsafeMutableBytes(of: &address.storage) { raw in
            raw.copyMemory(
                from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen))
            )
        }
        return address
    }

    private init(zeroedWithLength length: socklen_t) {
        storage = sockaddr_storage()
        self.length = length
    }

    /// Reads the peer address of a connected socket (no allocation: called for every accepted client).
    package static func peer(of fd: Int32) -> SocketAddress? {
        var address = SocketAddress(zeroedWithLength: 0)
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard result == 0 else { return nil }
        address.length = length
        return address
    }

    /// Reads the local address of a bound socket (to learn the port the kernel picked for port 0).
    package static func local(of fd: Int32) -> SocketAddress? {
        var address = SocketAddress(zeroedWithLength: 0)
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { return nil }
        address.length = length
        return address
    }

    package var family: Int32 { Int32(storage.ss_family) }

    public var port: UInt16 {
        withUnsafeBytes(of: storage) { raw in
            if family == AF_INET6 {
                return UInt16(
                    bigEndian: raw.load(
                        fromByteOffset: MemoryLayout<sockaddr_in6>.offset(of: \.sin6_port)!,
                        as: UInt16.self
                    )
                )
            }
            return UInt16(
                bigEndian: raw.load(fromByteOffset: MemoryLayout<sockaddr_in>.offset(of: \.sin_port)!, as: UInt16.self)
            )
        }
    }

    /// Writes the numeric host (no port) into `buffer`; returns the byte count. No allocation.
    package func writeHost(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        // INET6_ADDRSTRLEN is 46; a 64-byte stack buffer holds any numeric host.
        var text: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &text) { scratch in
            let destination = scratch.baseAddress!.assumingMemoryBound(to: CChar.self)
            withUnsafeBytes(of: storage) { raw in
                if family == AF_INET6 {
                    let offset = MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!
                    _ = inet_ntop(AF_INET6, raw.baseAddress! + offset, destination, 64)
                } else {
                    let offset = MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!
                    _ = inet_ntop(AF_INET, raw.baseAddress! + offset, destination, 64)
                }
            }
            let length = min(strlen(destination), buffer.count)
            buffer.baseAddress!.copyMemory(from: scratch.baseAddress!, byteCount: length)
            return length
        }
    }

    package var hostString: String {
        var bytes = [UInt8](repeating: 0, count: 64)
        let count = bytes.withUnsafeMutableBytes { writeHost(into: $0) }
        return String(decoding: bytes[0..<count], as: UTF8.self)
    }

    public var description: String {
        family == AF_INET6 ? "[\(hostString)]:\(port)" : "\(hostString):\(port)"
    }

    public static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool {
        guard lhs.length == rhs.length else { return false }
        return withUnsafeBytes(of: lhs.storage) { l in
            withUnsafeBytes(of: rhs.storage) { r in memcmp(l.baseAddress!, r.baseAddress!, Int(lhs.length)) == 0 }
        }
    }

    /// Calls `body` with the address as a `sockaddr` pointer.
    package func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }
}
