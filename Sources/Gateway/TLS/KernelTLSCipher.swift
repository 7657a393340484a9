/// An AEAD cipher kTLS can carry, with the kernel's `TLS_CIPHER_*` value and `crypto_info` field sizes.
package enum KernelTLSCipher: UInt16, Sendable, CaseIterable {
    /// AES-128-GCM (`TLS_CIPHER_AES_GCM_128`).
    case aes128GCM = 51
    /// AES-256-GCM (`TLS_CIPHER_AES_GCM_256`).
    case aes256GCM = 52
    /// ChaCha20-Poly1305 (`TLS_CIPHER_CHACHA20_POLY1305`).
    case chacha20Poly1305 = 54

    /// Parses a suite name, OpenSSL's ("ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_AES_128_GCM_SHA256") or IANA's
    /// ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"); nil for a suite with any other cipher (CBC, CCM, ...).
    package init?(name: String) {
        let normalized = name.uppercased().replacing("_", with: "-")
        if normalized.contains("AES128-GCM") || normalized.contains("AES-128-GCM") {
            self = .aes128GCM
        } else if normalized.contains("AES256-GCM") || normalized.contains("AES-256-GCM") {
            self = .aes256GCM
        } else if normalized.contains("CHACHA20-POLY1305") {
            self = .chacha20Poly1305
        } else {
            return nil
        }
    }

    /// Bytes of the AEAD key.
    package var keyLength: Int { self == .aes128GCM ? 16 : 32 }

    /// Bytes of the `iv` field: the explicit nonce for AES-GCM, the whole static IV for ChaCha20-Poly1305.
    package var ivLength: Int { self == .chacha20Poly1305 ? 12 : 8 }

    /// Bytes of the `salt` field: the implicit nonce part for AES-GCM; ChaCha20-Poly1305 has none.
    package var saltLength: Int { self == .chacha20Poly1305 ? 0 : 4 }

    /// Bytes of the whole `struct tls12_crypto_info_*`.
    package var cryptoInfoSize: Int { KernelTLSCryptoInfo.headerSize + ivLength + keyLength + saltLength + 8 }

    /// Whether the suite's hash (TLS 1.3 HKDF, TLS 1.2 PRF) is SHA-384: every AES-256-GCM suite, no other.
    package var usesSHA384: Bool { self == .aes256GCM }
}
