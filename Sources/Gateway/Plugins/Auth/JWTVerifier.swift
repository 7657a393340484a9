import Crypto
import _CryptoExtras

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Checks JWS signatures for one `jwt-auth` credential: its algorithm and its key, parsed once when the
/// plan is compiled (an HMAC key with its padded-key states precomputed, or an RSA or EC public key).
///
/// Allocation on the worker: HMAC checks (HS256/HS384/HS512) allocate nothing. They use ``HMACKey`` on
/// the gateway's own SHA-2 (``SHA256Hasher``, ``SHA512Hasher``: value types kept on the stack), which
/// continues from the inner and outer padded-key states computed here at compile time and compares
/// codes in constant time (swift-crypto's HMAC, used before, keeps each digest's state in a heap
/// object: two allocations per request). RSA and ECDSA (RS*, PS*, ES*) still go through swift-crypto
/// and allocate: the digest's state, the `Data` copy of the signature that swift-crypto's signature
/// types hold, and BoringSSL's big-number temporaries (measured with a counting malloc, debug build:
/// 22 per RS256, 16 per ES256).
///
/// The `FoundationEssentials` import is only for `UnsafeRawBufferPointer`'s `DataProtocol`
/// conformance, which swift-crypto's signature initializers take.
package final class JWTVerifier: @unchecked Sendable {
    /// Why a credential's key material is unusable, with the settings key it concerns.
    package struct KeyError: Error {
        /// `secret` or `public_key`.
        package var key: String
        /// What is wrong, for the configuration report.
        package var reason: String
    }

    private enum Key {
        case hmac(HMACKey)
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case p521(P521.Signing.PublicKey)
    }

    /// The algorithm tokens must name in their `alg` header.
    package let algorithm: JWTAlgorithm
    /// Seconds of clock skew allowed when checking `exp` and `nbf`.
    package let gracePeriod: Double
    private let key: Key

    /// Parses `credential`'s key material (compile time; allocates).
    package init(_ credential: JWTCredential) throws(KeyError) {
        guard let algorithm = JWTAlgorithm(rawValue: credential.algorithm) else {
            throw KeyError(key: "algorithm", reason: "unsupported algorithm \"\(credential.algorithm)\"")
        }
        self.algorithm = algorithm
        gracePeriod = Double(credential.lifetimeGracePeriod)
        if algorithm.isHMAC {
            guard let secret = credential.secret else {
                throw KeyError(key: "secret", reason: "is required for \(algorithm.rawValue)")
            }
            let bytes = try Self.secretBytes(secret, base64: credential.base64Secret)
            let function: SHA2
            switch algorithm {
            case .hs384: function = .sha384
            case .hs512: function = .sha512
            default: function = .sha256
            }
            key = bytes.withUnsafeBytes { .hmac(HMACKey(function, key: $0)) }
            return
        }
        guard let pem = credential.publicKey else {
            throw KeyError(key: "public_key", reason: "is required for \(algorithm.rawValue)")
        }
        let parsed: Key?
        switch algorithm {
        case .es256: parsed = (try? P256.Signing.PublicKey(pemRepresentation: pem)).map { .p256($0) }
        case .es384: parsed = (try? P384.Signing.PublicKey(pemRepresentation: pem)).map { .p384($0) }
        case .es512: parsed = (try? P521.Signing.PublicKey(pemRepresentation: pem)).map { .p521($0) }
        default: parsed = JWTRSAPublicKey.parse(pem).map { .rsa($0) }
        }
        guard let parsed else {
            let expected =
                switch algorithm {
                case .es256: "an EC P-256 public key"
                case .es384: "an EC P-384 public key"
                case .es512: "an EC P-521 public key"
                default: "an RSA public key of at least \(JWTRSAPublicKey.minimumBits) bits"
                }
            throw KeyError(key: "public_key", reason: "must be \(expected) in PEM (\"-----BEGIN PUBLIC KEY-----\")")
        }
        key = parsed
    }

    /// The HMAC key bytes: `secret` as UTF-8, or base64-decoded when `base64_secret` is set.
    private static func secretBytes(_ secret: String, base64: Bool) throws(KeyError) -> [UInt8] {
        let text = Array(secret.utf8)
        guard base64 else { return text }
        var decoded = [UInt8](repeating: 0, count: text.count + 3)
        let length = text.withUnsafeBytes { text in
            decoded.withUnsafeMutableBytes { Base64.decode(text, into: $0) }
        }
        guard let length, length > 0 else {
            throw KeyError(key: "secret", reason: "is not base64 (base64_secret is true)")
        }
        return Array(decoded[0..<length])
    }

    /// Whether `signature` (decoded from the token's third part) signs `input` (the token's
    /// `header.payload` text) under this credential's key.
    package func verify(_ input: UnsafeRawBufferPointer, signature: UnsafeRawBufferPointer) -> Bool {
        switch key {
        case .hmac(let keyed): return keyed.isValid(signature: signature, for: input)
        case .rsa(let publicKey):
            let padding: _RSA.Signing.Padding
            switch algorithm {
            case .ps256, .ps384, .ps512: padding = .PSS
            default: padding = .insecurePKCS1v1_5
            }
            let rsaSignature = _RSA.Signing.RSASignature(rawRepresentation: signature)
            switch algorithm {
            case .rs384, .ps384:
                return publicKey.isValidSignature(rsaSignature, for: Self.digest(SHA384.self, input), padding: padding)
            case .rs512, .ps512:
                return publicKey.isValidSignature(rsaSignature, for: Self.digest(SHA512.self, input), padding: padding)
            default:
                return publicKey.isValidSignature(rsaSignature, for: Self.digest(SHA256.self, input), padding: padding)
            }
        // JWS carries ECDSA signatures as the raw r || s pair (RFC 7518 §3.4), which is swift-crypto's
        // rawRepresentation; a signature of any other length does not parse.
        case .p256(let publicKey):
            guard let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return publicKey.isValidSignature(ecdsa, for: Self.digest(SHA256.self, input))
        case .p384(let publicKey):
            guard let ecdsa = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return publicKey.isValidSignature(ecdsa, for: Self.digest(SHA384.self, input))
        case .p521(let publicKey):
            guard let ecdsa = try? P521.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return publicKey.isValidSignature(ecdsa, for: Self.digest(SHA512.self, input))
        }
    }

    @inline(__always)
    private static func digest<H: HashFunction>(_ hash: H.Type, _ input: UnsafeRawBufferPointer) -> H.Digest {
        var hasher = H()
        hasher.update(bufferPointer: input)
        return hasher.finalize()
    }
}
