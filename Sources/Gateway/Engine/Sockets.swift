import CLiburing
import Glibc

/// Socket set-up done with plain syscalls at start-up or per new upstream connection.
package enum Sockets {
    /// Opens a non-blocking listening socket.
    ///
    /// `reusePort` (SO_REUSEPORT) lets every worker bind the same address; a listener that is the
    /// only one on its port (control plane, Admin API) goes without, so no other socket can share it.
    package static func listen(
        on address: SocketAddress,
        backlog: Int32 = 4096,
        reusePort: Bool = true
    ) throws(EngineError) -> Int32 {
        let fd = socket(
            address.family,
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
            0
        )
        guard fd >= 0 else {
            throw EngineError(code: .socket, message: "socket(): \(String(cString: strerror(errno)))", errno: errno)
        }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if reusePort { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) }
        // Accepted sockets inherit TCP_NODELAY from the listener on Linux.
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withSockAddr { bind(fd, $0, $1) }
        guard bound == 0 else {
            let error = errno
            Glibc.close(fd)
            throw EngineError(
                code: .bind,
                message: "cannot listen on \(address): \(String(cString: strerror(error)))"
                    + (error == EADDRINUSE ? " (another process holds the port)" : ""),
                errno: error
            )
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let error = errno
            Glibc.close(fd)
            throw EngineError(
                code: .listen,
                message: "listen() on \(address): \(String(cString: strerror(error)))",
                errno: error
            )
        }
        return fd
    }

    /// Opens a non-blocking TCP socket for an upstream connection; -1 on failure (errno set).
    @inline(__always)
    package static func upstreamSocket(family: Int32) -> Int32 {
        let fd = socket(
            family,
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
            0
        )
        if fd >= 0 {
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        return fd
    }
}
