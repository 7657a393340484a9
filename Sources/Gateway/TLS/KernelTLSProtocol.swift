/// A TLS protocol version kTLS can carry, with the kernel's `TLS_1_x_VERSION` value.
package enum KernelTLSProtocol: UInt16, Sendable, CaseIterable {
    /// TLS 1.2 (`TLS_1_2_VERSION`).
    case tls12 = 0x0303
    /// TLS 1.3 (`TLS_1_3_VERSION`).
    case tls13 = 0x0304

    /// Parses OpenSSL's `SSL_get_version` name ("TLSv1.2", "TLSv1.3"); nil for any other protocol.
    package init?(name: String) {
        switch name {
        case "TLSv1.2": self = .tls12
        case "TLSv1.3": self = .tls13
        default: return nil
        }
    }
}
