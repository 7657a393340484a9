/// Builds the kernel's `crypto_info` for one direction of an established session from the secrets OpenSSL
/// negotiated: TLS 1.3 traffic secrets, or the TLS 1.2 master secret and hello randoms.
package enum KernelTLSKeys {
    /// TLS 1.3: key and IV from one direction's application traffic secret (RFC 8446 section 7.3).
    ///
    /// A server transmits with `SERVER_TRAFFIC_SECRET_0` and receives with `CLIENT_TRAFFIC_SECRET_0`.
    /// For AES-GCM the 12-byte IV splits into `salt` (first 4) and `iv` (last 8); ChaCha20-Poly1305 takes all 12.
    ///
    /// - Parameters:
    ///   - sequence: the number of records already protected with this secret in this direction (TLS 1.3
    ///     starts each traffic secret at 0; records OpenSSL already sent or read, such as session tickets,
    ///     count).
    package static func tls13(
        cipher: KernelTLSCipher,
        trafficSecret: [UInt8],
        sequence: UInt64
    ) throws(KernelTLSError) -> KernelTLSCryptoInfo {
        let hashLength = cipher.usesSHA384 ? 48 : 32
        guard trafficSecret.count == hashLength else {
            throw .length(of: "traffic secret", is: trafficSecret.count, expected: hashLength)
        }
        let sha384 = cipher.usesSHA384
        let key = hkdfExpandLabel(secret: trafficSecret, label: "key", length: cipher.keyLength, sha384: sha384)
        let writeIV = hkdfExpandLabel(secret: trafficSecret, label: "iv", length: 12, sha384: sha384)
        return try KernelTLSCryptoInfo(
            version: .tls13,
            cipher: cipher,
            iv: Array(writeIV[cipher.saltLength...]),
            key: key,
            salt: Array(writeIV[..<cipher.saltLength]),
            sequence: sequence
        )
    }

    /// TLS 1.2: key and IV from the key block (RFC 5246 section 6.3, AEAD suites have no MAC keys).
    ///
    /// key_block = PRF(master_secret, "key expansion", server_random + client_random) split into
    /// client_write_key, server_write_key, client_write_IV, server_write_IV (4 bytes each for AES-GCM, 12 for
    /// ChaCha20-Poly1305, RFC 7905). For AES-GCM `salt` is the 4-byte implicit IV and `iv` the 8-byte explicit
    /// nonce the kernel starts from and increments per record: set to the sequence number. OpenSSL 3.0 starts
    /// its own explicit nonces at a random value (each record carries its nonce, so the peer does not care);
    /// the few records it sealed before the handoff meet the kernel's with odds of about 2^-64.
    ///
    /// - Parameters:
    ///   - role: which end the gateway is; with `direction` it picks the server's or the client's keys.
    ///   - sequence: the number of records already protected in this direction since ChangeCipherSpec
    ///     (1 after the Finished message).
    package static func tls12(
        cipher: KernelTLSCipher,
        masterSecret: [UInt8],
        clientRandom: [UInt8],
        serverRandom: [UInt8],
        role: KernelTLSRole,
        direction: KernelTLSDirection,
        sequence: UInt64
    ) throws(KernelTLSError) -> KernelTLSCryptoInfo {
        guard masterSecret.count == 48 else { throw .length(of: "master secret", is: masterSecret.count, expected: 48) }
        guard clientRandom.count == 32 else { throw .length(of: "client random", is: clientRandom.count, expected: 32) }
        guard serverRandom.count == 32 else { throw .length(of: "server random", is: serverRandom.count, expected: 32) }
        let keyLength = cipher.keyLength
        let fixedIVLength = cipher == .chacha20Poly1305 ? 12 : 4
        let block = prf(
            secret: masterSecret,
            label: "key expansion",
            seed: serverRandom + clientRandom,
            length: 2 * keyLength + 2 * fixedIVLength,
            sha384: cipher.usesSHA384
        )
        let server = direction.usesServerKeys(as: role)
        let keyStart = server ? keyLength : 0
        let ivStart = 2 * keyLength + (server ? fixedIVLength : 0)
        let key = Array(block[keyStart..<keyStart + keyLength])
        let fixedIV = Array(block[ivStart..<ivStart + fixedIVLength])
        if cipher == .chacha20Poly1305 {
            return try KernelTLSCryptoInfo(
                version: .tls12,
                cipher: cipher,
                iv: fixedIV,
                key: key,
                salt: [],
                sequence: sequence
            )
        }
        return try KernelTLSCryptoInfo(
            version: .tls12,
            cipher: cipher,
            iv: withUnsafeBytes(of: sequence.bigEndian) { Array($0) },
            key: key,
            salt: fixedIV,
            sequence: sequence
        )
    }
}
