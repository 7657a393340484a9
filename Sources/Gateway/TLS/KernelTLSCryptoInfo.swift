/// The bytes of one kernel `struct tls12_crypto_info_*` (linux/tls.h), ready for
/// `setsockopt(fd, SOL_TLS, TLS_TX or TLS_RX, bytes, count)`.
///
/// Layout: `u16 version`, `u16 cipher_type` (host byte order), then `iv`, `key`, `salt` and `rec_seq` packed
/// with no padding: 40 bytes for AES-128-GCM, 56 for AES-256-GCM and ChaCha20-Poly1305. `rec_seq` is the
/// big-endian sequence number of the next record in this direction.
package struct KernelTLSCryptoInfo: Sendable, Equatable {
    /// Bytes of `struct tls_crypto_info` (version and cipher type).
    package static let headerSize = 4
    /// Bytes of `rec_seq`.
    package static let sequenceSize = 8

    package let version: KernelTLSProtocol
    package let cipher: KernelTLSCipher
    /// The whole struct; holds the key, so wipe it once installed.
    package private(set) var bytes: [UInt8]

    /// Packs the fields, checking each length against the cipher's.
    package init(
        version: KernelTLSProtocol,
        cipher: KernelTLSCipher,
        iv: [UInt8],
        key: [UInt8],
        salt: [UInt8],
        sequence: UInt64
    ) throws(KernelTLSError) {
        guard iv.count == cipher.ivLength else { throw .length(of: "iv", is: iv.count, expected: cipher.ivLength) }
        guard key.count == cipher.keyLength else {
            throw .length(of: "key", is: key.count, expected: cipher.keyLength)
        }
        guard salt.count == cipher.saltLength else {
            throw .length(of: "salt", is: salt.count, expected: cipher.saltLength)
        }
        self.version = version
        self.cipher = cipher
        var bytes: [UInt8] = []
        bytes.reserveCapacity(cipher.cryptoInfoSize)
        withUnsafeBytes(of: version.rawValue) { bytes += $0 }
        withUnsafeBytes(of: cipher.rawValue) { bytes += $0 }
        bytes += iv
        bytes += key
        bytes += salt
        withUnsafeBytes(of: sequence.bigEndian) { bytes += $0 }
        self.bytes = bytes
    }

    /// Offset of `iv`.
    package var ivOffset: Int { Self.headerSize }
    /// Offset of `key`.
    package var keyOffset: Int { ivOffset + cipher.ivLength }
    /// Offset of `salt` (equal to ``sequenceOffset`` for ChaCha20-Poly1305, which has none).
    package var saltOffset: Int { keyOffset + cipher.keyLength }
    /// Offset of `rec_seq`.
    package var sequenceOffset: Int { saltOffset + cipher.saltLength }

    /// The `iv` field.
    package var iv: ArraySlice<UInt8> { bytes[ivOffset..<keyOffset] }
    /// The `key` field.
    package var key: ArraySlice<UInt8> { bytes[keyOffset..<saltOffset] }
    /// The `salt` field (empty for ChaCha20-Poly1305).
    package var salt: ArraySlice<UInt8> { bytes[saltOffset..<sequenceOffset] }
    /// The `rec_seq` field as a number.
    package var sequence: UInt64 {
        bytes[sequenceOffset...].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Overwrites the bytes with zeros, so the key does not linger in memory after the install.
    package mutating func wipe() {
        for index in bytes.indices { bytes[index] = 0 }
    }
}
