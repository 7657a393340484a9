import Glibc

/// An error handing a TLS session to the kernel: a session the kernel cannot take, bad key material, or a
/// `setsockopt` the kernel refused.
///
/// Carries an opaque ``Code`` to match on, a message for the log, the `errno` when a syscall failed, and
/// ``socketChanged``: whether the socket was already altered, which decides what the caller does next.
package struct KernelTLSError: Error, CustomStringConvertible {
    /// The kind of kTLS failure.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case ulp, install, keyMaterial, unsupported, notReady
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// `setsockopt(TCP_ULP, "tls")` failed (ENOENT: the kernel has no tls ULP).
        package static let ulp = Code(.ulp)
        /// `setsockopt(SOL_TLS, TLS_TX/TLS_RX)` failed.
        package static let install = Code(.install)
        /// A secret, random or key has the wrong length for the cipher.
        package static let keyMaterial = Code(.keyMaterial)
        /// The session's protocol or cipher has no kTLS support.
        package static let unsupported = Code(.unsupported)
        /// The session is not at a point the kernel can take over: handshake unfinished, or records still
        /// buffered in OpenSSL's BIOs.
        package static let notReady = Code(.notReady)

        package var description: String { "\(value)" }
    }

    package var code: Code
    package var message: String
    /// The `errno` of the failed syscall; nil for the other errors.
    package var errno: Int32?
    /// The tls ULP was attached before the failure: the socket is no longer a plain TCP socket the userspace
    /// records can go on over, so the caller closes the connection. False: nothing was changed, the session
    /// continues in userspace.
    package var socketChanged: Bool

    package init(code: Code, message: String, errno: Int32? = nil, socketChanged: Bool = false) {
        self.code = code
        self.message = message
        self.errno = errno
        self.socketChanged = socketChanged
    }

    package var description: String { message }

    /// A failed syscall: the call, `strerror` and the number.
    static func syscall(_ code: Code, _ call: String, errno: Int32) -> KernelTLSError {
        let reason = String(cString: strerror(errno))
        return KernelTLSError(code: code, message: "kTLS: \(call): \(reason) (errno \(errno))", errno: errno)
    }

    /// Key material of the wrong length.
    static func length(of what: String, is count: Int, expected: Int) -> KernelTLSError {
        KernelTLSError(code: .keyMaterial, message: "kTLS: \(what) has \(count) bytes, expected \(expected)")
    }
}
