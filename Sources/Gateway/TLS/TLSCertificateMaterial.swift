import CSSL
import Glibc

/// A certificate chain and its private key parsed by OpenSSL, checked to belong together.
///
/// Owns its OpenSSL objects: they are freed with it, and contexts that use them take their own references.
package final class TLSCertificateMaterial: @unchecked Sendable {
    /// The leaf certificate.
    package let leaf: OpaquePointer
    /// Intermediates after the leaf, in file order.
    package let chain: [OpaquePointer]
    package let key: OpaquePointer
    /// The leaf's notAfter as Unix seconds.
    package let notAfter: Int64

    /// Parses `certificatePEM` (leaf, then chain) and `keyPEM`, refusing a key that does not match.
    package init(certificatePEM: String, keyPEM: String) throws(TLSError) {
        let certificates = try Self.certificates(pem: certificatePEM)
        guard let leaf = certificates.first else {
            throw TLSError(.badPEM, "holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)")
        }
        guard let key = Self.privateKey(pem: keyPEM) else {
            for certificate in certificates { X509_free(certificate) }
            throw TLSError.openSSL(.badPEM, "is not a PEM private key OpenSSL can read")
        }
        guard X509_check_private_key(leaf, key) == 1 else {
            ERR_clear_error()
            for certificate in certificates { X509_free(certificate) }
            EVP_PKEY_free(key)
            throw TLSError(.keyMismatch, "the private key does not match the certificate")
        }
        self.leaf = leaf
        chain = Array(certificates.dropFirst())
        self.key = key
        notAfter = Self.unixTime(X509_get0_notAfter(leaf))
    }

    deinit {
        X509_free(leaf)
        for certificate in chain { X509_free(certificate) }
        EVP_PKEY_free(key)
    }

    /// How many certificates `pem` holds (each parsed, then freed); throws as ``certificates(pem:)`` does.
    package static func certificateCount(pem: String) throws(TLSError) -> Int {
        let parsed = try certificates(pem: pem)
        for certificate in parsed { X509_free(certificate) }
        return parsed.count
    }

    /// Every certificate in `pem`, in order; throws when the text holds something else that is not PEM.
    /// The caller owns them: each must be given to `X509_free`.
    package static func certificates(pem: String) throws(TLSError) -> [OpaquePointer] {
        var result: [OpaquePointer] = []
        let ok = pem.withCString { text -> Bool in
            guard let bio = BIO_new_mem_buf(text, Int32(strlen(text))) else { return false }
            defer { BIO_free(bio) }
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
                result.append(certificate)
            }
            // The loop ends on end of input (PEM_R_NO_START_LINE) or on a damaged block.
            let error = ERR_peek_last_error()
            let clean =
                error == 0 || (ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE)
            ERR_clear_error()
            return clean
        }
        guard ok else {
            for certificate in result { X509_free(certificate) }
            throw TLSError(.badPEM, "holds a damaged PEM certificate")
        }
        return result
    }

    /// An ASN.1 time as Unix seconds (0 when it cannot be read).
    package static func unixTime(_ time: UnsafePointer<ASN1_TIME>?) -> Int64 {
        guard let time else { return 0 }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return 0 }
        return Int64(timegm(&parts))
    }

    private static func privateKey(pem: String) -> OpaquePointer? {
        pem.withCString { text in
            guard let bio = BIO_new_mem_buf(text, Int32(strlen(text))) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
    }
}
