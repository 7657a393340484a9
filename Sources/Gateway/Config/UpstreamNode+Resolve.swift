#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension UpstreamNode {
    /// Why a node's host could not be turned into socket addresses.
    package struct ResolutionError: Error, Sendable, Equatable {
        /// The getaddrinfo message.
        package var reason: String
    }

    /// Resolves ``host`` with getaddrinfo (IP literals without a DNS query) into IPv4/IPv6 socket addresses.
    ///
    /// Blocking; call it at load time, never on a worker.
    package func resolve() throws(ResolutionError) -> [ResolvedAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        if IPAddress.isIPv4(host) || IPAddress.isIPv6(host) {
            hints.ai_flags = AI_NUMERICHOST
        }
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            let message = status == 0 ? "no addresses" : String(cString: gai_strerror(status))
            throw ResolutionError(reason: "cannot resolve \"\(host)\": \(message)")
        }
        defer { freeaddrinfo(first) }
        var result: [ResolvedAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            let family = info.pointee.ai_family
            guard family == AF_INET || family == AF_INET6, let sockaddr = info.pointee.ai_addr else { continue }
            let bytes = Array(UnsafeRawBufferPointer(start: sockaddr, count: Int(info.pointee.ai_addrlen)))
            let address = ResolvedAddress(family: family, bytes: bytes, description: Self.numeric(sockaddr, family))
            if !result.contains(address) {
                result.append(address)
            }
        }
        guard !result.isEmpty else {
            throw ResolutionError(reason: "cannot resolve \"\(host)\": no IPv4 or IPv6 address")
        }
        return result
    }

    private static func numeric(_ sockaddr: UnsafeMutablePointer<sockaddr>, _ family: Int32) -> String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        if family == AF_INET {
            return sockaddr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                var address = pointer.pointee.sin_addr
                inet_ntop(AF_INET, &address, &text, socklen_t(text.count))
                return "\(Self.text(text)):\(UInt16(bigEndian: pointer.pointee.sin_port))"
            }
        }
        return sockaddr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
            var address = pointer.pointee.sin6_addr
            inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
            return "[\(Self.text(text))]:\(UInt16(bigEndian: pointer.pointee.sin6_port))"
        }
    }

    private static func text(_ characters: [CChar]) -> String {
        String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
