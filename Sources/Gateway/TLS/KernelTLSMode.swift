/// Where TLS records are encrypted and decrypted: by the kernel (kTLS) or by OpenSSL in userspace.
///
/// Decided once at start for the process (``choose(availableULPs:setting:)``), then narrowed per session by
/// ``session(protocolName:cipherName:)`` once the handshake has picked a protocol and a cipher.
package enum KernelTLSMode: Sendable, Equatable {
    /// The established session is handed to the kernel; the data path stays plain send/recv.
    case kernel
    /// Records stay in userspace (OpenSSL over memory BIOs), for the given reason.
    case userspace(Reason)

    /// Why records stay in userspace.
    package enum Reason: Sendable, Equatable, CustomStringConvertible {
        /// The configuration turned kTLS off (`tls.ktls: off`).
        case configuredOff
        /// The kernel's ULP list does not include `tls` (module not loaded or not built).
        case noULP
        /// The kernel's ULP list could not be read (no procfs, or a kernel without ULP support).
        case ulpListUnreadable
        /// The session's protocol has no kTLS support (only TLS 1.2 and 1.3 have).
        case protocolNotSupported(String)
        /// The session's cipher has no kTLS support here (only AES-GCM and ChaCha20-Poly1305 are handed over).
        case cipherNotSupported(String)

        package var description: String {
            switch self {
            case .configuredOff: "off in the configuration (tls.ktls: off)"
            case .noULP: "kernel offers no tls ULP"
            case .ulpListUnreadable: "kernel offers no tls ULP (\(KernelTLSSupport.availableULPsPath) is unreadable)"
            case .protocolNotSupported(let name): "protocol \(name) is not supported by kTLS"
            case .cipherNotSupported(let name): "cipher \(name) is not supported by kTLS"
            }
        }
    }

    /// Decides the process-wide mode: the kernel only when the setting allows it and the ULP list has `tls`.
    ///
    /// - Parameters:
    ///   - availableULPs: the contents of `tcp_available_ulp`, nil when it could not be read.
    ///   - setting: the configuration's choice.
    package static func choose(availableULPs: String?, setting: KernelTLSSetting) -> KernelTLSMode {
        guard setting == .auto else { return .userspace(.configuredOff) }
        guard let availableULPs else { return .userspace(.ulpListUnreadable) }
        return KernelTLSSupport.offersTLS(availableULPs) ? .kernel : .userspace(.noULP)
    }

    /// The one info line logged at start, naming the mode and, for userspace, why.
    package var startupLine: String {
        switch self {
        case .kernel:
            "kTLS: kernel offers the tls ULP; established TLS 1.2/1.3 sessions with AES-GCM or ChaCha20-Poly1305 "
                + "are handed to the kernel"
        case .userspace(let reason):
            "kTLS: \(reason); TLS records are encrypted in userspace"
        }
    }
}
