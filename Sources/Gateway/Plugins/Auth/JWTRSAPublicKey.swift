import _CryptoExtras

/// Reads an RSA public key from PEM (`PUBLIC KEY`, an X.509 SubjectPublicKeyInfo, or `RSA PUBLIC KEY`,
/// PKCS #1) into swift-crypto's key type, at configuration time.
///
/// Why not `_RSA.Signing.PublicKey(pemRepresentation:)`: in swift-crypto 3.12.3, DER that is well-formed
/// PEM but no RSA key (an EC key, say) makes it free its BoringSSL key twice and abort the process
/// (fixed in swift-crypto 4). Taking the modulus and exponent out here and building the key from them
/// (`init(n:e:)`) never reaches that path, so a wrong `public_key` is a configuration error, not a crash.
enum JWTRSAPublicKey {
    /// The smallest modulus accepted, as swift-crypto's PEM initializer requires.
    static let minimumBits = 2048

    /// The key `pem` holds, or nil when it holds no RSA public key of at least ``minimumBits`` bits.
    static func parse(_ pem: String) -> _RSA.Signing.PublicKey? {
        guard let (label, der) = decodePEM(pem) else { return nil }
        var reader = DERReader(der[...])
        let parameters: (n: ArraySlice<UInt8>, e: ArraySlice<UInt8>)?
        switch label {
        case "PUBLIC KEY": parameters = reader.subjectPublicKeyInfo()
        case "RSA PUBLIC KEY": parameters = reader.rsaPublicKey()
        default: return nil
        }
        guard let parameters, reader.isAtEnd else { return nil }
        let modulus = parameters.n.drop { $0 == 0 }
        guard let first = modulus.first, (modulus.count - 1) * 8 + (8 - first.leadingZeroBitCount) >= minimumBits,
            let key = try? _RSA.Signing.PublicKey(n: Array(modulus), e: Array(parameters.e))
        else { return nil }
        return key
    }

    /// The label and DER bytes of the one PEM block in `text` (RFC 7468; whitespace in the base64 body is
    /// skipped).
    private static func decodePEM(_ text: String) -> (String, [UInt8])? {
        let lines = text.split(whereSeparator: \.isNewline).map { line in
            String(line.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
        }.filter { !$0.isEmpty }
        guard lines.count >= 2, let first = lines.first, let last = lines.last,
            first.hasPrefix("-----BEGIN "), first.hasSuffix("-----"), last.hasPrefix("-----END "),
            last.hasSuffix("-----")
        else { return nil }
        let label = String(first.dropFirst(11).dropLast(5))
        guard last == "-----END \(label)-----" else { return nil }
        let body = Array(lines[1..<(lines.count - 1)].joined().utf8)
        var der = [UInt8](repeating: 0, count: body.count + 3)
        let length = body.withUnsafeBytes { body in der.withUnsafeMutableBytes { Base64.decode(body, into: $0) } }
        guard let length, length > 0 else { return nil }
        return (label, Array(der[0..<length]))
    }

    /// Just enough DER (X.690) to find an RSA key's modulus and exponent: definite lengths only, every
    /// element read to its end.
    private struct DERReader {
        private var bytes: ArraySlice<UInt8>

        init(_ bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
        }

        var isAtEnd: Bool { bytes.isEmpty }

        /// `SEQUENCE { SEQUENCE { rsaEncryption or RSASSA-PSS OID, parameters }, BIT STRING { RSAPublicKey } }`
        mutating func subjectPublicKeyInfo() -> (n: ArraySlice<UInt8>, e: ArraySlice<UInt8>)? {
            guard let info = element(0x30) else { return nil }
            var inner = DERReader(info)
            guard let algorithm = inner.element(0x30), let bitString = inner.element(0x03), inner.isAtEnd else {
                return nil
            }
            var identifier = DERReader(algorithm)
            // 1.2.840.113549.1.1.1 (rsaEncryption) and 1.2.840.113549.1.1.10 (RSASSA-PSS); parameters
            // (NULL, or PSS's) are not needed to verify.
            guard let oid = identifier.element(0x06),
                oid.elementsEqual([0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01])
                    || oid.elementsEqual([0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A]),
                bitString.first == 0
            else { return nil }
            var key = DERReader(bitString.dropFirst())
            guard let parameters = key.rsaPublicKey(), key.isAtEnd else { return nil }
            return parameters
        }

        /// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` (RFC 8017 §A.1.1)
        mutating func rsaPublicKey() -> (n: ArraySlice<UInt8>, e: ArraySlice<UInt8>)? {
            guard let sequence = element(0x30) else { return nil }
            var inner = DERReader(sequence)
            guard let n = inner.element(0x02), let e = inner.element(0x02), inner.isAtEnd,
                let nSign = n.first, nSign & 0x80 == 0, let eSign = e.first, eSign & 0x80 == 0
            else { return nil }
            return (n, e)
        }

        /// The contents of the next element if its tag is `tag`.
        mutating func element(_ tag: UInt8) -> ArraySlice<UInt8>? {
            guard bytes.count >= 2, bytes.first == tag else { return nil }
            var index = bytes.startIndex + 1
            var length = Int(bytes[index])
            index += 1
            if length & 0x80 != 0 {
                let count = length & 0x7F
                guard count >= 1, count <= 3, bytes.endIndex - index >= count else { return nil }
                length = 0
                for _ in 0..<count {
                    length = length << 8 | Int(bytes[index])
                    index += 1
                }
            }
            guard bytes.endIndex - index >= length else { return nil }
            let contents = bytes[index..<(index + length)]
            bytes = bytes[(index + length)...]
            return contents
        }
    }
}
