import Crypto

extension KernelTLSKeys {
    /// HKDF-Expand-Label(secret, label, context, length) of TLS 1.3 (RFC 8446 section 7.1), with SHA-256 or
    /// SHA-384.
    package static func hkdfExpandLabel(
        secret: [UInt8],
        label: String,
        context: [UInt8] = [],
        length: Int,
        sha384: Bool
    ) -> [UInt8] {
        // struct { uint16 length; opaque label<7..255> = "tls13 " + label; opaque context<0..255>; } HkdfLabel
        let fullLabel = Array("tls13 \(label)".utf8)
        var info: [UInt8] = [UInt8(length >> 8), UInt8(length & 0xff), UInt8(fullLabel.count)]
        info += fullLabel
        info.append(UInt8(context.count))
        info += context
        let key = SymmetricKey(data: secret)
        let output =
            sha384
            ? HKDF<SHA384>.expand(pseudoRandomKey: key, info: info, outputByteCount: length)
            : HKDF<SHA256>.expand(pseudoRandomKey: key, info: info, outputByteCount: length)
        return output.withUnsafeBytes { Array($0) }
    }

    /// PRF(secret, label, seed) of TLS 1.2 (RFC 5246 section 5): P_SHA256, or P_SHA384 for SHA-384 suites.
    package static func prf(secret: [UInt8], label: String, seed: [UInt8], length: Int, sha384: Bool) -> [UInt8] {
        sha384
            ? pHash(SHA384.self, secret: secret, seed: Array(label.utf8) + seed, length: length)
            : pHash(SHA256.self, secret: secret, seed: Array(label.utf8) + seed, length: length)
    }

    /// P_hash: HMAC(secret, A(i) + seed) for A(0) = seed, A(i) = HMAC(secret, A(i-1)), cut to `length`.
    private static func pHash<H: HashFunction>(_: H.Type, secret: [UInt8], seed: [UInt8], length: Int) -> [UInt8] {
        let key = SymmetricKey(data: secret)
        var output: [UInt8] = []
        output.reserveCapacity(length + H.Digest.byteCount)
        var a = Array(HMAC<H>.authenticationCode(for: seed, using: key))
        while output.count < length {
            output += HMAC<H>.authenticationCode(for: a + seed, using: key)
            a = Array(HMAC<H>.authenticationCode(for: a, using: key))
        }
        return Array(output.prefix(length))
    }
}
