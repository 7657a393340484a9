import Glibc
import Testing

/// A connected TCP pair over 127.0.0.1 (kTLS needs an established TCP socket; a Unix socketpair has no ULPs).
struct KernelTLSLoopbackPair {
    let client: Int32
    let server: Int32

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(listener >= 0)
        defer { Glibc.close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                try #require(bind(listener, $0, length) == 0)
                try #require(listen(listener, 1) == 0)
                try #require(getsockname(listener, $0, &length) == 0)
            }
        }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(client >= 0)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) }
        }
        try #require(connected == 0)
        let server = accept(listener, nil, nil)
        try #require(server >= 0)
        self.client = client
        self.server = server
    }

    /// The name of the ULP attached to `fd` (`getsockopt(TCP_ULP)`): "" for a plain TCP socket.
    static func ulp(of fd: Int32) -> String? {
        var name = [CChar](repeating: 0, count: 16)
        var length = socklen_t(name.count)
        guard getsockopt(fd, Int32(IPPROTO_TCP), 31, &name, &length) == 0 else { return nil }
        return String(
            decoding: name.prefix(Int(length)).prefix { $0 != 0 }.map { UInt8(bitPattern: $0) },
            as: UTF8.self
        )
    }

    /// Whether bytes still go from the server's socket to the client's unchanged: the socket is plain TCP.
    func carriesPlainBytes() -> Bool {
        let message: [UInt8] = Array("plain".utf8)
        guard send(server, message, message.count, 0) == message.count else { return false }
        var received = [UInt8](repeating: 0, count: 16)
        let count = recv(client, &received, received.count, 0)
        return count == message.count && Array(received.prefix(count)) == message
    }

    func close() {
        Glibc.close(client)
        Glibc.close(server)
    }
}
