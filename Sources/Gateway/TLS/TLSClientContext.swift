import CSSL
import Glibc

/// The OpenSSL client context of one `https` upstream: versions and ciphers from `tls:`, the trusted
/// CAs (the upstream's `tls.ca`, else the system bundle), verification, and a client certificate for mTLS.
package final class TLSClientContext: @unchecked Sendable {
    package let context: OpaquePointer
    /// Verify the node's chain and name.
    package let verify: Bool
    /// The name sent as SNI and checked against the certificate (nil: the node's address is checked).
    package let serverName: String?
    /// notAfter of the client certificate, Unix seconds (0: none).
    package let clientCertificateExpiry: Int64

    private static let http11: [UInt8] = [8] + Array("http/1.1".utf8)
    private static let h2: [UInt8] = [2] + Array("h2".utf8)

    /// With `http2` (a `grpcs` upstream) ALPN offers only `h2`.
    package init(
        _ tls: UpstreamConfig.TLS,
        settings: TLSSettings,
        serverName: String?,
        http2: Bool = false
    ) throws(TLSError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw TLSError.openSSL(.context, "cannot create a TLS client context")
        }
        var expiry: Int64 = 0
        do throws(TLSError) {
            try TLSContextBuilder.apply(settings, to: context)
            if tls.verify {
                if let ca = tls.caPEM {
                    let authorities = try TLSCertificateMaterial.certificates(pem: ca)
                    defer { for certificate in authorities { X509_free(certificate) } }
                    guard let store = SSL_CTX_get_cert_store(context) else {
                        throw TLSError.openSSL(.context, "no certificate store")
                    }
                    for certificate in authorities where X509_STORE_add_cert(store, certificate) != 1 {
                        throw TLSError.openSSL(.context, "OpenSSL refused a CA certificate")
                    }
                } else if SSL_CTX_set_default_verify_paths(context) != 1 {
                    throw TLSError.openSSL(.context, "cannot load the system CA bundle")
                }
                SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            } else {
                SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
            }
            if let pair = tls.clientCertificate {
                let material = try TLSCertificateMaterial(certificatePEM: pair.certificatePEM, keyPEM: pair.keyPEM)
                try TLSContextBuilder.use(material, in: context)
                expiry = material.notAfter
            }
            let protocols = http2 ? Self.h2 : Self.http11
            guard SSL_CTX_set_alpn_protos(context, protocols, UInt32(protocols.count)) == 0 else {
                throw TLSError.openSSL(.context, "cannot offer ALPN")
            }
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        self.context = context
        verify = tls.verify
        self.serverName = serverName
        clientCertificateExpiry = expiry
    }

    deinit { SSL_CTX_free(context) }
}
