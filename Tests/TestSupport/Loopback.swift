#if canImport(Glibc)
import Glibc
#endif

/// Loopback addresses and ports for tests.
package enum Loopback {
    /// `127.0.0.1:port` as a socket address.
    package static func address(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// A loopback port with nothing listening on it: bound by us, then released without listen().
    ///
    /// Released, so another process may take it: fine for a port a child binds next, but a port that
    /// must stay dead for a whole test should be a ``RefusingPort`` instead.
    package static func unusedPort() throws -> Int {
        try RefusingPort().port
    }
}

/// A loopback port held bound but not listening: connecting to it is refused, as to a node that is down,
/// and no other process can bind it while it is held (tests running in parallel would otherwise pick it up
/// for their own listeners, and the "dead" node would answer).
package final class RefusingPort: Sendable {
    package let port: Int
    private let fd: Int32

    package init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw IntegrationError("socket() failed: errno \(errno)") }
        var address = Loopback.address(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw IntegrationError("bind() failed: errno \(code)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
