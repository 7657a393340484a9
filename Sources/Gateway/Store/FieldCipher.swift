import CSSL
import Foundation

/// APISIX's cipher for encrypted fields: AES-CBC keyed with a keyring key that is also the IV, PKCS#7 padding,
/// base64 text (`apisix/core/data_encryption.lua`). A 16-byte key selects AES-128, a 32-byte key AES-256.
///
/// The key doubling as the IV makes the output deterministic: the same value always encrypts to the same
/// text, which keeps a rewrite of an unchanged resource unchanged in etcd.
package struct FieldCipher: Sendable {
    /// The usable keys, in keyring order (keys of other lengths are left out).
    package let keys: [[UInt8]]

    package init(keyring: [String]) {
        keys = keyring.map { Array($0.utf8) }.filter { $0.count == 16 || $0.count == 32 }
    }

    /// `plain` encrypted with the first key, as base64; nil without a key (or if OpenSSL fails).
    package func encrypt(_ plain: String) -> String? {
        guard let key = keys.first, let bytes = Self.crypt(Array(plain.utf8), key: key, encrypting: true) else {
            return nil
        }
        return Data(bytes).base64EncodedString()
    }

    /// `text` decrypted with the first key that opens it; nil when it is not base64 or no key opens it.
    ///
    /// A wrong key passes the padding check about once in 256 tries; a result that is not UTF-8 text is taken
    /// as such a false opening and the next key is tried (APISIX would stop at the garbage).
    package func decrypt(_ text: String) -> String? {
        guard let data = Data(base64Encoded: text), !data.isEmpty, data.count % 16 == 0 else { return nil }
        let input = Array(data)
        for key in keys {
            guard let bytes = Self.crypt(input, key: key, encrypting: false) else { continue }
            if let plain = String(validating: bytes, as: UTF8.self) { return plain }
        }
        return nil
    }

    /// One AES-CBC pass with `key` as key and IV; nil when OpenSSL refuses (a bad padding on decryption).
    static func crypt(_ input: [UInt8], key: [UInt8], encrypting: Bool) -> [UInt8]? {
        guard let context = EVP_CIPHER_CTX_new() else { return nil }
        defer {
            EVP_CIPHER_CTX_free(context)
            // Leave no error in this thread's OpenSSL queue for TLS code to find later.
            ERR_clear_error()
        }
        let cipher = key.count == 32 ? EVP_aes_256_cbc() : EVP_aes_128_cbc()
        guard EVP_CipherInit_ex(context, cipher, nil, key, key, encrypting ? 1 : 0) == 1 else { return nil }
        var output = [UInt8](repeating: 0, count: input.count + 32)
        var written: Int32 = 0
        var final: Int32 = 0
        let ok = output.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress,
                EVP_CipherUpdate(context, base, &written, input, Int32(input.count)) == 1
            else { return false }
            return EVP_CipherFinal_ex(context, base + Int(written), &final) == 1
        }
        guard ok else { return nil }
        return Array(output.prefix(Int(written + final)))
    }
}
