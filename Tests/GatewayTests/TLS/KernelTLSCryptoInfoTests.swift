import Testing

@testable import Gateway

@Suite("kTLS crypto_info: the byte layout of linux/tls.h's struct tls12_crypto_info_*")
struct KernelTLSCryptoInfoTests {
    /// sizeof and offsetof(iv, key, salt, rec_seq) per struct, from linux/tls.h (packed u8 arrays after two u16).
    @Test(arguments: [
        (KernelTLSCipher.aes128GCM, 40, [4, 12, 28, 32]),
        (.aes256GCM, 56, [4, 12, 44, 48]),
        (.chacha20Poly1305, 56, [4, 16, 48, 48]),
    ])
    func sizesAndOffsets(cipher: KernelTLSCipher, size: Int, offsets: [Int]) throws {
        let info = try Self.sample(cipher)
        #expect(info.bytes.count == size)
        #expect(cipher.cryptoInfoSize == size)
        #expect([info.ivOffset, info.keyOffset, info.saltOffset, info.sequenceOffset] == offsets)
        // Each field holds the bytes it was given, where the kernel reads it.
        #expect(Array(info.bytes[offsets[0]..<offsets[1]]) == Array(repeating: 0x11, count: cipher.ivLength))
        #expect(Array(info.bytes[offsets[1]..<offsets[2]]) == Array(repeating: 0x22, count: cipher.keyLength))
        #expect(Array(info.bytes[offsets[2]..<offsets[3]]) == Array(repeating: 0x33, count: cipher.saltLength))
        #expect(Array(info.bytes[offsets[3]...]) == [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08])
    }

    @Test(arguments: [
        (KernelTLSProtocol.tls13, KernelTLSCipher.aes128GCM, [0x04, 0x03, 51, 0] as [UInt8]),
        (.tls12, .aes256GCM, [0x03, 0x03, 52, 0]),
        (.tls13, .chacha20Poly1305, [0x04, 0x03, 54, 0]),
    ])
    func headerIsVersionThenCipherInHostOrder(
        version: KernelTLSProtocol,
        cipher: KernelTLSCipher,
        header: [UInt8]
    ) throws {
        // struct tls_crypto_info { __u16 version; __u16 cipher_type; }: native (little-endian here) u16s.
        let info = try Self.sample(cipher, version: version)
        let versionBytes = withUnsafeBytes(of: version.rawValue) { Array($0) }
        let expected = versionBytes + withUnsafeBytes(of: cipher.rawValue) { Array($0) }
        #expect(Array(info.bytes.prefix(4)) == expected)
        #if _endian(little)
        #expect(Array(info.bytes.prefix(4)) == header)
        #endif
    }

    @Test func wrongFieldLengthsAreRefused() {
        #expect(throws: KernelTLSError.self) {
            _ = try KernelTLSCryptoInfo(
                version: .tls13,
                cipher: .aes128GCM,
                iv: [UInt8](repeating: 0, count: 12),
                key: [UInt8](repeating: 0, count: 16),
                salt: [UInt8](repeating: 0, count: 4),
                sequence: 0
            )
        }
        do {
            _ = try KernelTLSCryptoInfo(
                version: .tls13,
                cipher: .aes256GCM,
                iv: [UInt8](repeating: 0, count: 8),
                key: [UInt8](repeating: 0, count: 16),
                salt: [UInt8](repeating: 0, count: 4),
                sequence: 0
            )
            Issue.record("a 16-byte key was accepted for AES-256-GCM")
        } catch {
            #expect(error.code == .keyMaterial)
            #expect(error.errno == nil)
            #expect(error.message == "kTLS: key has 16 bytes, expected 32")
        }
    }

    @Test func wipeZeroesTheKey() throws {
        var info = try Self.sample(.aes256GCM)
        info.wipe()
        #expect(info.bytes == [UInt8](repeating: 0, count: 56))
    }

    static func sample(_ cipher: KernelTLSCipher, version: KernelTLSProtocol = .tls13) throws -> KernelTLSCryptoInfo {
        try KernelTLSCryptoInfo(
            version: version,
            cipher: cipher,
            iv: [UInt8](repeating: 0x11, count: cipher.ivLength),
            key: [UInt8](repeating: 0x22, count: cipher.keyLength),
            salt: [UInt8](repeating: 0x33, count: cipher.saltLength),
            sequence: 0x0102_0304_0506_0708
        )
    }
}
