import CSSL
import Glibc

/// Session-ticket keys shared by every worker and rotated every hour, without shared mutable state.
///
/// Each hour's keys are derived from one random process secret and the hour number (HMAC-SHA256), so
/// all workers compute the same keys independently: no lock, no publication. Tickets sealed in the
/// current or the previous hour are accepted, and every resumption gets a fresh ticket; older ones fall
/// back to a full handshake.
package enum TLSTicketKeys {
    /// 32 random bytes drawn once per process.
    private static let secret: [UInt8] = {
        var bytes = [UInt8](repeating: 0, count: 32)
        // OpenSSL's DRBG is seeded from the kernel; failing here means no TLS can be trusted anyway.
        guard RAND_bytes(&bytes, 32) == 1 else { fatalError("OpenSSL cannot produce random bytes") }
        return bytes
    }()

    /// How long one key seals new tickets.
    package static let rotationSeconds: Int64 = 3600

    /// The 16-byte key name, 32-byte AES key and 32-byte HMAC key of `period` (Unix hours).
    package static func keys(period: Int64) -> (name: [UInt8], cipher: [UInt8], mac: [UInt8]) {
        (
            Array(derive("name", period).prefix(16)),
            derive("aes-256-cbc", period),
            derive("hmac-sha256", period)
        )
    }

    /// The rotation period `unixSeconds` falls in.
    package static func period(unixSeconds: Int64) -> Int64 { unixSeconds / rotationSeconds }

    private static func derive(_ label: String, _ period: Int64) -> [UInt8] {
        var message = Array(label.utf8)
        withUnsafeBytes(of: period.bigEndian) { message.append(contentsOf: $0) }
        var output = [UInt8](repeating: 0, count: 32)
        var length = 0
        _ = secret.withUnsafeBytes { key in
            message.withUnsafeBytes { data in
                EVP_Q_mac(
                    nil,
                    "HMAC",
                    nil,
                    "SHA256",
                    nil,
                    key.baseAddress,
                    key.count,
                    data.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    data.count,
                    &output,
                    32,
                    &length
                )
            }
        }
        return output
    }

    /// OpenSSL's ticket-key callback (`SSL_CTX_set_tlsext_ticket_key_evp_cb`): 1 sealed, 2 opened (and a
    /// fresh ticket issued), 0 unknown key (full handshake), -1 failure.
    package static let callback:
        @convention(c) (
            OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?, OpaquePointer?,
            OpaquePointer?, Int32
        ) -> Int32 = { _, name, iv, cipher, mac, encrypt in
            guard let name, let iv, let cipher, let mac else { return -1 }
            let now = Int64(time(nil))
            let current = TLSTicketKeys.period(unixSeconds: now)
            if encrypt == 1 {
                let keys = TLSTicketKeys.keys(period: current)
                name.update(from: keys.name, count: 16)
                guard RAND_bytes(iv, 16) == 1 else { return -1 }
                guard EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nil, keys.cipher, iv) == 1 else { return -1 }
                return TLSTicketKeys.setMAC(mac, keys.mac) ? 1 : -1
            }
            for period in [current, current - 1] {
                let keys = TLSTicketKeys.keys(period: period)
                guard memcmp(name, keys.name, 16) == 0 else { continue }
                guard TLSTicketKeys.setMAC(mac, keys.mac),
                    EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nil, keys.cipher, iv) == 1
                else { return -1 }
                // Always renew: OpenSSL clients use a TLS 1.3 ticket once (RFC 8446 §C.4), so a resumption
                // without a fresh ticket leaves the next connection a full handshake.
                return 2
            }
            return 0
        }

    private static func setMAC(_ mac: OpaquePointer, _ key: [UInt8]) -> Bool {
        var key = key
        return key.withUnsafeMutableBytes { keyBytes in
            "SHA256".withCString { digest in
                "digest".withCString { digestName in
                    "key".withCString { keyName in
                        var parameters = [
                            OSSL_PARAM_construct_utf8_string(digestName, UnsafeMutablePointer(mutating: digest), 0),
                            OSSL_PARAM_construct_octet_string(keyName, keyBytes.baseAddress, keyBytes.count),
                            OSSL_PARAM_construct_end(),
                        ]
                        return EVP_MAC_CTX_set_params(mac, &parameters) == 1
                    }
                }
            }
        }
    }
}
