/// A TLS protocol version the data plane may negotiate (`tls.protocols`).
package enum TLSProtocolVersion: String, Sendable, Hashable, CaseIterable, Comparable {
    case tls12 = "TLSv1.2"
    case tls13 = "TLSv1.3"

    package static func < (lhs: Self, rhs: Self) -> Bool { lhs == .tls12 && rhs == .tls13 }
}

/// Whether established sessions are handed to the kernel's TLS (`tls.ktls`).
package enum KernelTLSSetting: String, Sendable, Hashable, CaseIterable {
    /// Use kTLS where the kernel offers the `tls` ULP, userspace records elsewhere.
    case auto
    /// Always encrypt records in userspace.
    case off
}

/// Process-wide TLS settings (key `tls:`), applied to every TLS listener and certificate.
package struct TLSSettings: Sendable, Equatable {
    /// Versions offered (`protocols`, default both TLS 1.2 and 1.3).
    package var protocols: Set<TLSProtocolVersion> = [.tls12, .tls13]
    /// TLS 1.2 cipher list in OpenSSL's syntax (`ciphers`): forward-secret AEAD suites only by default,
    /// as Mozilla's "intermediate" profile.
    package var ciphers: String = TLSSettings.defaultCiphers
    /// TLS 1.3 suites in OpenSSL's syntax (`ciphersuites`), OpenSSL's default order.
    package var cipherSuites: String = TLSSettings.defaultCipherSuites
    /// The `ssls` entry serving clients whose SNI matches none (or who send none) (`default_ssl`).
    package var defaultSSL: String?
    /// Refuse a configuration holding an expired certificate instead of warning (`reject_expired`).
    package var rejectExpired = false
    /// Stateless session tickets (`session_tickets`, default on); the session cache stays on either way.
    package var sessionTickets = true
    /// Session-cache entries per certificate (`session_cache_size`).
    package var sessionCacheSize = 20480
    /// Kernel TLS (`ktls`).
    package var kernelTLS: KernelTLSSetting = .auto

    package static let defaultCiphers =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
    package static let defaultCipherSuites =
        "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    package init() {}
}
