import Foundation
import TestSupport
import Testing

@testable import Gateway

/// APISIX's field cipher against ciphertext made independently by the `openssl` command (AES-CBC, the key as
/// its own IV, PKCS#7 padding, base64), as APISIX's `resty.aes` makes it.
@Suite struct FieldCipherTests {
    /// `plain` encrypted by `openssl enc` with `key` as key and IV.
    static func openssl(_ plain: String, key: String) async throws -> String {
        let hex = key.utf8.map { String(format: "%02x", $0) }.joined()
        let cipher = key.utf8.count == 32 ? "-aes-256-cbc" : "-aes-128-cbc"
        let result = try await Command.run(
            "openssl",
            ["enc", cipher, "-K", hex, "-iv", hex, "-base64", "-A"],
            input: Data(plain.utf8)
        )
        #expect(result.exitCode == 0, "\(result.log)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(arguments: ["edd1c9f0985e76a2", "edd1c9f0985e76a2edd1c9f0985e76a2"])
    func decryptsWhatOpenSSLEncryptedAndEncryptsTheSame(key: String) async throws {
        let cipher = FieldCipher(keyring: [key])
        for plain in ["auth-one", "a key of more than sixteen bytes, with ünïcode", "exactly16bytes!!"] {
            let expected = try await Self.openssl(plain, key: key)
            #expect(cipher.decrypt(expected) == plain)
            #expect(cipher.encrypt(plain) == expected)
        }
    }

    @Test func triesEachKeyOfTheKeyringAndEncryptsWithTheFirst() async throws {
        let old = try await Self.openssl("rotated", key: "edd1c9f0985e76a2")
        let cipher = FieldCipher(keyring: EtcdDataEncryption.apisixKeyring)
        #expect(cipher.decrypt(old) == "rotated")
        #expect(cipher.encrypt("rotated") == (try await Self.openssl("rotated", key: "qeddd145sfvddff3")))
    }

    @Test func whatNoKeyOpensIsNotDecrypted() async throws {
        let other = try await Self.openssl("secret", key: "0123456789abcdef")
        let cipher = FieldCipher(keyring: EtcdDataEncryption.apisixKeyring)
        #expect(cipher.decrypt(other) == nil)
        #expect(cipher.decrypt("plain-api-key") == nil)
        #expect(cipher.decrypt("abcd") == nil, "base64, but not whole blocks")
        #expect(cipher.decrypt("") == nil)
        #expect(FieldCipher(keyring: []).encrypt("x") == nil)
    }
}
