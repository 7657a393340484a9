import Crypto
import Testing

@testable import Gateway

/// The gateway's own SHA-256, SHA-384, SHA-512 and HMAC (what `jwt-auth` checks HS* tokens with): the
/// FIPS 180-4 examples and RFC 4231's HMAC test cases, then agreement with swift-crypto on random
/// messages and keys of every length around the block boundaries.
@Suite struct SHA2Tests {
    // MARK: Helpers

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var text = ""
        for byte in bytes {
            text += String(byte >> 4, radix: 16) + String(byte & 15, radix: 16)
        }
        return text
    }

    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map {
            UInt8(String(decoding: digits[$0..<($0 + 2)], as: UTF8.self), radix: 16)!
        }
    }

    /// The gateway's digest of `message`, in one call.
    static func digest(_ function: SHA2, _ message: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: function.digestByteCount)
        message.withUnsafeBytes { message in output.withUnsafeMutableBytes { function.hash(message, into: $0) } }
        return output
    }

    /// The gateway's digest of `message`, fed to the hasher in pieces of the given sizes (cycled).
    static func digest(_ function: SHA2, _ message: [UInt8], pieces: [Int]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: function.digestByteCount)
        message.withUnsafeBytes { message in
            output.withUnsafeMutableBytes { output in
                var hasher256 = SHA256Hasher()
                var hasher512 = function == .sha384 ? SHA512Hasher.sha384() : SHA512Hasher()
                var offset = 0
                var piece = 0
                while offset < message.count {
                    let count = min(pieces[piece % pieces.count], message.count - offset)
                    let part = UnsafeRawBufferPointer(rebasing: message[offset..<(offset + count)])
                    if function == .sha256 { hasher256.update(part) } else { hasher512.update(part) }
                    offset += count
                    piece += 1
                }
                if function == .sha256 {
                    hasher256.finalize(into: output.baseAddress!)
                } else {
                    hasher512.finalize(into: output.baseAddress!, byteCount: function.digestByteCount)
                }
            }
        }
        return output
    }

    /// The gateway's HMAC of `message` under `key`.
    static func code(_ function: SHA2, key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        let hmac = key.withUnsafeBytes { HMACKey(function, key: $0) }
        var output = [UInt8](repeating: 0, count: hmac.byteCount)
        message.withUnsafeBytes { message in
            output.withUnsafeMutableBytes { hmac.authenticationCode(for: message, into: $0) }
        }
        return output
    }

    static func isValid(_ function: SHA2, key: [UInt8], signature: [UInt8], _ message: [UInt8]) -> Bool {
        let hmac = key.withUnsafeBytes { HMACKey(function, key: $0) }
        return signature.withUnsafeBytes { signature in
            message.withUnsafeBytes { hmac.isValid(signature: signature, for: $0) }
        }
    }

    /// swift-crypto's digest of `message`.
    static func cryptoDigest(_ function: SHA2, _ message: [UInt8]) -> [UInt8] {
        switch function {
        case .sha256: return Array(SHA256.hash(data: message))
        case .sha384: return Array(SHA384.hash(data: message))
        case .sha512: return Array(SHA512.hash(data: message))
        }
    }

    /// swift-crypto's HMAC of `message` under `key`.
    static func cryptoCode(_ function: SHA2, key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        let key = SymmetricKey(data: key)
        switch function {
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
        case .sha384: return Array(HMAC<SHA384>.authenticationCode(for: message, using: key))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: message, using: key))
        }
    }

    /// SplitMix64: reproducible random bytes, so a failure names its seed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64

        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }

        mutating func bytes(_ count: Int) -> [UInt8] {
            (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
        }
    }

    static let functions: [SHA2] = [.sha256, .sha384, .sha512]

    // MARK: FIPS 180-4 examples (NIST CSRC "Examples with Intermediate Values")

    struct DigestVector: Sendable, CustomTestStringConvertible {
        var name: String
        var message: [UInt8]
        var sha256: String
        var sha384: String
        var sha512: String

        var testDescription: String { name }
    }

    static let digestVectors: [DigestVector] = [
        DigestVector(
            name: "empty",
            message: [],
            sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            sha384: "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b",
            sha512: "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                + "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
        ),
        DigestVector(
            name: "abc",
            message: Array("abc".utf8),
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            sha384: "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
            sha512: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                + "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        ),
        DigestVector(
            name: "448 bits",
            message: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8),
            sha256: "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            sha384: "3391fdddfc8dc7393707a65b1b4709397cf8b1d162af05abfe8f450de5f36bc6b0455a8520bc4e6f5fe95b1fe3c8452b",
            sha512: "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c335"
                + "96fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445"
        ),
        DigestVector(
            name: "896 bits",
            message: Array(
                ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                    + "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu").utf8
            ),
            sha256: "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
            sha384: "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039",
            sha512: "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
                + "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"
        ),
        DigestVector(
            name: "one million a",
            message: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000),
            sha256: "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
            sha384: "9d0e1809716474cb086e834e310a4a1ced149e9c00f248527972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8985",
            sha512: "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
                + "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b"
        ),
    ]

    @Test(arguments: digestVectors)
    func digestsMatchTheFIPSExamples(_ vector: DigestVector) {
        #expect(Self.hex(Self.digest(.sha256, vector.message)) == vector.sha256)
        #expect(Self.hex(Self.digest(.sha384, vector.message)) == vector.sha384)
        #expect(Self.hex(Self.digest(.sha512, vector.message)) == vector.sha512)
    }

    @Test func oneMillionAFedInOddPiecesMatchesTheFIPSExample() {
        let vector = Self.digestVectors[4]
        #expect(Self.hex(Self.digest(.sha256, vector.message, pieces: [1, 63, 64, 65, 1000])) == vector.sha256)
        #expect(Self.hex(Self.digest(.sha512, vector.message, pieces: [1, 127, 128, 129, 1000])) == vector.sha512)
    }

    // MARK: RFC 4231 HMAC test cases

    struct HMACVector: Sendable, CustomTestStringConvertible {
        var name: String
        var key: [UInt8]
        var message: [UInt8]
        var sha256: String
        var sha384: String
        var sha512: String
        /// Test case 5 gives only the first 128 bits of each code.
        var truncated = false

        var testDescription: String { name }
    }

    static let hmacVectors: [HMACVector] = [
        HMACVector(
            name: "RFC 4231 4.2 (test case 1)",
            key: [UInt8](repeating: 0x0b, count: 20),
            message: Array("Hi There".utf8),
            sha256: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            sha384: "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
            sha512: "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
                + "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"
        ),
        HMACVector(
            name: "RFC 4231 4.3 (test case 2, short key)",
            key: Array("Jefe".utf8),
            message: Array("what do ya want for nothing?".utf8),
            sha256: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            sha384: "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
            sha512: "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                + "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        ),
        HMACVector(
            name: "RFC 4231 4.4 (test case 3)",
            key: [UInt8](repeating: 0xaa, count: 20),
            message: [UInt8](repeating: 0xdd, count: 50),
            sha256: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            sha384: "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
            sha512: "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
                + "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"
        ),
        HMACVector(
            name: "RFC 4231 4.5 (test case 4)",
            key: Array(1...25),
            message: [UInt8](repeating: 0xcd, count: 50),
            sha256: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            sha384: "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
            sha512: "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
                + "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"
        ),
        HMACVector(
            name: "RFC 4231 4.6 (test case 5, truncated to 128 bits)",
            key: [UInt8](repeating: 0x0c, count: 20),
            message: Array("Test With Truncation".utf8),
            sha256: "a3b6167473100ee06e0c796c2955552b",
            sha384: "3abf34c3503b2a23a46efc619baef897",
            sha512: "415fad6271580a531d4179bc891d87a6",
            truncated: true
        ),
        HMACVector(
            name: "RFC 4231 4.7 (test case 6, key longer than a block)",
            key: [UInt8](repeating: 0xaa, count: 131),
            message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
            sha256: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            sha384: "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
            sha512: "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
                + "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"
        ),
        HMACVector(
            name: "RFC 4231 4.8 (test case 7, key and message longer than a block)",
            key: [UInt8](repeating: 0xaa, count: 131),
            message: Array(
                ("This is a test using a larger than block-size key and a larger than block-size data."
                    + " The key needs to be hashed before being used by the HMAC algorithm.").utf8
            ),
            sha256: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            sha384: "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
            sha512: "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
                + "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"
        ),
    ]

    @Test(arguments: hmacVectors)
    func hmacMatchesRFC4231(_ vector: HMACVector) {
        for (function, expected) in [(SHA2.sha256, vector.sha256), (.sha384, vector.sha384), (.sha512, vector.sha512)] {
            let code = Self.code(function, key: vector.key, vector.message)
            #expect(code.count == function.digestByteCount)
            if vector.truncated {
                #expect(Self.hex(code.prefix(16)) == expected, "\(function)")
                // A code cut short is never a valid signature: JWS HS* signatures are whole codes.
                #expect(!Self.isValid(function, key: vector.key, signature: Self.bytes(hex: expected), vector.message))
            } else {
                #expect(Self.hex(code) == expected, "\(function)")
                #expect(Self.isValid(function, key: vector.key, signature: Self.bytes(hex: expected), vector.message))
            }
            #expect(Self.isValid(function, key: vector.key, signature: code, vector.message))
        }
    }

    // MARK: isValid

    @Test func isValidRejectsAnyOtherSignature() {
        let key = Array("secret".utf8)
        let message = Array("eyJhbGciOiJIUzI1NiJ9.eyJrZXkiOiJ1c2VyIn0".utf8)
        for function in Self.functions {
            let code = Self.code(function, key: key, message)
            #expect(Self.isValid(function, key: key, signature: code, message))
            for index in [0, code.count / 2, code.count - 1] {
                var flipped = code
                flipped[index] ^= 0x01
                #expect(!Self.isValid(function, key: key, signature: flipped, message), "\(function) byte \(index)")
            }
            #expect(!Self.isValid(function, key: key, signature: Array(code.dropLast()), message))
            #expect(!Self.isValid(function, key: key, signature: code + [0], message))
            #expect(!Self.isValid(function, key: key, signature: [], message))
            // (Not key + [0]: HMAC zero-pads short keys, so trailing zero bytes make the same key.)
            #expect(!Self.isValid(function, key: key + [1], signature: code, message))
            #expect(!Self.isValid(function, key: Array("Secret".utf8), signature: code, message))
            #expect(!Self.isValid(function, key: key, signature: code, message + [0]))
        }
        // The same key under another function makes another code.
        #expect(
            Self.code(.sha384, key: key, message) != Array(Self.code(.sha512, key: key, message).prefix(48))
        )
    }

    @Test func anEmptyKeyIsAZeroBlock() {
        // RFC 2104 pads the key with zeros, so no key at all and a block of zeros make the same code.
        for function in Self.functions {
            let message = Array("m".utf8)
            let zeros = [UInt8](repeating: 0, count: function.blockByteCount)
            #expect(Self.code(function, key: [], message) == Self.code(function, key: zeros, message))
            #expect(Self.code(function, key: [], message) == Self.cryptoCode(function, key: [], message))
        }
    }

    // MARK: Against swift-crypto

    /// Every message length 0...300 (so every block boundary: 55, 56, 63, 64, 111, 112, 127, 128 and the
    /// second block's), random bytes, under random keys whose lengths include a block and a block + 1.
    @Test func agreesWithSwiftCryptoOnRandomInput() {
        let seed: UInt64 = 0x5eed_0000_2026_1128
        var random = Generator(state: seed)
        let keyLengths = [0, 1, 20, 32, 63, 64, 65, 127, 128, 129, 200]
        for length in 0...300 {
            let message = random.bytes(length)
            for function in Self.functions {
                #expect(
                    Self.digest(function, message) == Self.cryptoDigest(function, message),
                    "\(function) length \(length) seed \(seed)"
                )
                let keyLength =
                    length < keyLengths.count ? keyLengths[length] : Int.random(in: 0...200, using: &random)
                let key = random.bytes(keyLength)
                let expected = Self.cryptoCode(function, key: key, message)
                #expect(
                    Self.code(function, key: key, message) == expected,
                    "\(function) key \(keyLength) message \(length) seed \(seed)"
                )
                #expect(Self.isValid(function, key: key, signature: expected, message))
            }
        }
    }

    @Test func streamingInPiecesAgreesWithSwiftCrypto() {
        var random = Generator(state: 0x0dd5_1ece)
        let message = random.bytes(1000)
        for pieces in [[1], [3, 61], [55, 9], [56], [63], [64], [65], [111], [112], [127], [128], [129], [7, 250]] {
            for function in Self.functions {
                #expect(
                    Self.digest(function, message, pieces: pieces) == Self.cryptoDigest(function, message),
                    "\(function) pieces \(pieces)"
                )
            }
        }
    }

    @Test(arguments: [55, 56, 63, 64, 111, 112, 127, 128])
    func blockBoundaryLengthsAgreeWithSwiftCrypto(_ length: Int) {
        var random = Generator(state: UInt64(length))
        let message = random.bytes(length)
        for function in Self.functions {
            #expect(Self.digest(function, message) == Self.cryptoDigest(function, message), "\(function)")
            for keyLength in [function.blockByteCount - 1, function.blockByteCount, function.blockByteCount + 1] {
                let key = random.bytes(keyLength)
                #expect(
                    Self.code(function, key: key, message) == Self.cryptoCode(function, key: key, message),
                    "\(function) key \(keyLength)"
                )
            }
        }
    }
}
