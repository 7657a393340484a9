import Crypto

@testable import Gateway

/// Opens TLS records with the key material of a kernel `crypto_info`, as the receiving side (or the kernel)
/// would, with swift-crypto's AEADs: the independent check that the derived keys, IVs and sequence numbers
/// are the ones OpenSSL used.
enum KernelTLSRecordOpener {
    /// One opened record.
    struct Record: Equatable {
        /// The content type: 23 application data, 22 handshake, 21 alert (TLS 1.3: the inner type).
        var contentType: UInt8
        var plaintext: [UInt8]
        /// The 8-byte explicit nonce a TLS 1.2 AES-GCM record carries (nil otherwise).
        var explicitNonce: [UInt8]?
    }

    /// Splits a stream of whole records into records (header included).
    static func records(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var records: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            guard offset + 5 <= bytes.count else { throw KernelTLSTestError("a partial record header") }
            let length = Int(bytes[offset + 3]) << 8 | Int(bytes[offset + 4])
            guard offset + 5 + length <= bytes.count else { throw KernelTLSTestError("a partial record") }
            records.append(Array(bytes[offset..<offset + 5 + length]))
            offset += 5 + length
        }
        return records
    }

    /// Opens `record` with `info`'s key, IV and salt as record number `sequence` (by default `info`'s own
    /// `rec_seq`: the number the kernel would open or seal it as).
    static func open(_ record: [UInt8], with info: KernelTLSCryptoInfo, sequence: UInt64? = nil) throws -> Record {
        guard record.count >= 5 + 16 else { throw KernelTLSTestError("a record too short to open") }
        let header = Array(record[..<5])
        let body = Array(record[5...])
        let number = withUnsafeBytes(of: (sequence ?? info.sequence).bigEndian) { Array($0) }
        let key = SymmetricKey(data: Array(info.key))
        let tag = Array(body.suffix(16))
        switch info.version {
        case .tls13:
            // RFC 8446 §5.3: nonce = write IV XOR the sequence number; the AAD is the record header; the inner
            // plaintext ends with its content type, then zero padding.
            let nonce = xor(Array(info.salt) + Array(info.iv), number)
            var inner = try openBox(info.cipher, key, nonce, Array(body.dropLast(16)), tag, aad: header)
            while inner.last == 0 { inner.removeLast() }
            guard let type = inner.popLast() else { throw KernelTLSTestError("an empty inner plaintext") }
            return Record(contentType: type, plaintext: inner)
        case .tls12:
            // RFC 5246 §6.2.3.3 and RFC 5288: AES-GCM's nonce is the 4-byte salt and the record's explicit
            // 8 bytes; RFC 7905: ChaCha20-Poly1305's is the 12-byte IV XOR the sequence number. The AAD is
            // seq_num + type + version + plaintext length.
            let explicit = info.cipher == .chacha20Poly1305 ? nil : Array(body.prefix(8))
            let ciphertext = Array(body.dropFirst(explicit == nil ? 0 : 8).dropLast(16))
            let nonce = explicit.map { Array(info.salt) + $0 } ?? xor(Array(info.iv), number)
            let length = UInt16(ciphertext.count)
            let aad = number + header[..<3] + [UInt8(length >> 8), UInt8(length & 0xff)]
            let plaintext = try openBox(info.cipher, key, nonce, ciphertext, tag, aad: aad)
            return Record(contentType: header[0], plaintext: plaintext, explicitNonce: explicit)
        }
    }

    /// Opens one AEAD box.
    private static func openBox(
        _ cipher: KernelTLSCipher,
        _ key: SymmetricKey,
        _ nonce: [UInt8],
        _ ciphertext: [UInt8],
        _ tag: [UInt8],
        aad: [UInt8]
    ) throws -> [UInt8] {
        switch cipher {
        case .aes128GCM, .aes256GCM:
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: nonce), ciphertext: ciphertext, tag: tag)
            return Array(try AES.GCM.open(box, using: key, authenticating: aad))
        case .chacha20Poly1305:
            let box = try ChaChaPoly.SealedBox(nonce: ChaChaPoly.Nonce(data: nonce), ciphertext: ciphertext, tag: tag)
            return Array(try ChaChaPoly.open(box, using: key, authenticating: aad))
        }
    }

    /// `iv` with the big-endian sequence number XORed into its last 8 bytes.
    private static func xor(_ iv: [UInt8], _ number: [UInt8]) -> [UInt8] {
        var nonce = iv
        for index in 0..<8 { nonce[nonce.count - 8 + index] ^= number[index] }
        return nonce
    }
}
