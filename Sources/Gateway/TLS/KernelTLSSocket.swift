import Glibc

/// The two `setsockopt` calls that hand an established TLS session to the kernel.
///
/// Order: ``enableULP(fd:)`` once, then ``install(fd:direction:cryptoInfo:)`` for TX and RX. A failed
/// `enableULP` leaves the socket a plain TCP socket, so the session continues in userspace. Once a direction is
/// installed the kernel owns its record sequence: a later failure must close the connection.
package enum KernelTLSSocket {
    /// `SOL_TLS` (282): the socket option level of the tls ULP.
    package static let solTLS: Int32 = 282
    /// `TCP_ULP` (31): attaches an upper-layer protocol to a TCP socket.
    package static let tcpULP: Int32 = 31

    /// Attaches the tls ULP: `setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", 4)`.
    ///
    /// Fails with ENOENT where the kernel has no tls ULP, ENOTCONN before the connection is established,
    /// EEXIST when a ULP is already attached.
    package static func enableULP(fd: Int32) throws(KernelTLSError) {
        // The name with its NUL: 4 bytes, as the kernel's own selftests pass it.
        let status = "tls".withCString { setsockopt(fd, Int32(IPPROTO_TCP), tcpULP, $0, 4) }
        guard status == 0 else { throw .syscall(.ulp, "setsockopt(TCP_ULP, \"tls\")", errno: errno) }
    }

    /// Installs one direction's keys: `setsockopt(fd, SOL_TLS, TLS_TX or TLS_RX, crypto_info, size)`.
    ///
    /// Fails with ENOPROTOOPT without the ULP, EBUSY when the direction is already installed, EINVAL or
    /// ENOTSUPP (524) for a version or cipher the kernel does not support.
    package static func install(
        fd: Int32,
        direction: KernelTLSDirection,
        cryptoInfo: KernelTLSCryptoInfo
    ) throws(KernelTLSError) {
        let status = cryptoInfo.bytes.withUnsafeBytes {
            setsockopt(fd, solTLS, direction.rawValue, $0.baseAddress, socklen_t($0.count))
        }
        guard status == 0 else {
            let name = direction == .transmit ? "TLS_TX" : "TLS_RX"
            throw .syscall(.install, "setsockopt(SOL_TLS, \(name))", errno: errno)
        }
    }
}
