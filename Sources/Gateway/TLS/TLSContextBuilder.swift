import CSSL
import Glibc

/// Builds OpenSSL server contexts with the gateway's protocol settings.
package enum TLSContextBuilder {
    /// ALPN protocols offered, in OpenSSL's wire form (length-prefixed).
    private static let http11: [UInt8] = [8] + Array("http/1.1".utf8)
    private static let h2AndHTTP11: [UInt8] = [2] + Array("h2".utf8) + http11
    nonisolated(unsafe) private static let alpnH2: UnsafeMutableRawBufferPointer = {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: h2AndHTTP11.count, alignment: 1)
        buffer.copyBytes(from: h2AndHTTP11)
        return buffer
    }()
    // Written once, then only read by OpenSSL's callback on any worker.
    nonisolated(unsafe) private static let alpnHTTP11: UnsafeMutableRawBufferPointer = {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: http11.count, alignment: 1)
        buffer.copyBytes(from: http11)
        return buffer
    }()

    /// A server context with `settings` applied: versions, ciphers, no renegotiation or compression,
    /// server cipher preference, ALPN, the process's session cache and (when on) hourly ticket keys.
    ///
    /// `sessionContext` names what a session may resume under (SHA-256 of it is the session id context):
    /// sessions live in ``TLSSessionCache``, across reloads, so it must change whenever what a session
    /// vouches for does (the certificate entry, its client-certificate policy).
    package static func serverContext(_ settings: TLSSettings, sessionContext: String) throws(TLSError) -> OpaquePointer
    {
        guard let context = SSL_CTX_new(TLS_server_method()) else {
            throw TLSError.openSSL(.context, "cannot create a TLS context")
        }
        do throws(TLSError) {
            try apply(settings, to: context)
            let id = sessionIDContext(sessionContext)
            guard SSL_CTX_set_session_id_context(context, id, UInt32(id.count)) == 1 else {
                throw TLSError.openSSL(.context, "cannot set the session id context")
            }
            TLSSessionCache.install(on: context)
            SSL_CTX_set_timeout(context, 3600)
            if settings.sessionTickets {
                guard SSL_CTX_set_tlsext_ticket_key_evp_cb(context, TLSTicketKeys.callback) == 1 else {
                    throw TLSError.openSSL(.context, "cannot install the session-ticket keys")
                }
                // One ticket per full handshake is enough for a client to resume; OpenSSL's default of
                // two doubles the post-handshake work.
                SSL_CTX_set_num_tickets(context, 1)
            } else {
                _ = SSL_CTX_set_options(context, gw_ssl_op_no_ticket())
                SSL_CTX_set_num_tickets(context, 0)
            }
            SSL_CTX_set_alpn_select_cb(context, selectALPN, nil)
            return context
        } catch {
            SSL_CTX_free(context)
            throw error
        }
    }

    /// The 32-byte session id context of `name` (SHA-256; OpenSSL allows at most 32 bytes).
    package static func sessionIDContext(_ name: String) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(SSL_MAX_SID_CTX_LENGTH))
        var length = 0
        let bytes = Array(name.utf8)
        guard EVP_Q_digest(nil, "SHA256", nil, bytes, bytes.count, &digest, &length) == 1 else {
            // Only without memory; a shortened name still separates entries.
            ERR_clear_error()
            return Array(bytes.prefix(Int(SSL_MAX_SID_CTX_LENGTH)))
        }
        return Array(digest.prefix(length))
    }

    /// Versions, cipher lists and options (shared with upstream client contexts).
    package static func apply(_ settings: TLSSettings, to context: OpaquePointer) throws(TLSError) {
        let lowest = settings.protocols.min() ?? .tls12
        let highest = settings.protocols.max() ?? .tls13
        _ = gw_ssl_ctx_set_min_proto(context, lowest == .tls12 ? TLS1_2_VERSION : TLS1_3_VERSION)
        _ = gw_ssl_ctx_set_max_proto(context, highest == .tls12 ? TLS1_2_VERSION : TLS1_3_VERSION)
        if settings.protocols.contains(.tls12) {
            guard SSL_CTX_set_cipher_list(context, settings.ciphers) == 1 else {
                throw TLSError.openSSL(.context, "tls.ciphers: OpenSSL accepts none of \"\(settings.ciphers)\"")
            }
        }
        if settings.protocols.contains(.tls13) {
            guard SSL_CTX_set_ciphersuites(context, settings.cipherSuites) == 1 else {
                throw TLSError.openSSL(
                    .context,
                    "tls.ciphersuites: OpenSSL accepts none of \"\(settings.cipherSuites)\""
                )
            }
        }
        _ = SSL_CTX_set_options(
            context,
            gw_ssl_op_no_renegotiation() | gw_ssl_op_no_compression() | gw_ssl_op_cipher_server_preference()
        )
    }

    /// Installs `material` (and its chain) into `context`.
    package static func use(_ material: TLSCertificateMaterial, in context: OpaquePointer) throws(TLSError) {
        guard SSL_CTX_use_certificate(context, material.leaf) == 1 else {
            throw TLSError.openSSL(.context, "OpenSSL refused the certificate")
        }
        guard SSL_CTX_use_PrivateKey(context, material.key) == 1 else {
            throw TLSError.openSSL(.context, "OpenSSL refused the private key")
        }
        for certificate in material.chain {
            guard gw_ssl_ctx_add1_chain_cert(context, certificate) == 1 else {
                throw TLSError.openSSL(.context, "OpenSSL refused a chain certificate")
            }
        }
    }

    /// Requests client certificates chaining to `verification.caPEM`.
    package static func requireClientCertificates(
        _ verification: SSLClientVerification,
        in context: OpaquePointer
    ) throws(TLSError) {
        let authorities = try TLSCertificateMaterial.certificates(pem: verification.caPEM)
        defer { for certificate in authorities { X509_free(certificate) } }
        guard !authorities.isEmpty else { throw TLSError(.badPEM, "holds no PEM certificate") }
        guard let store = SSL_CTX_get_cert_store(context) else {
            throw TLSError.openSSL(.context, "no certificate store")
        }
        for certificate in authorities {
            guard X509_STORE_add_cert(store, certificate) == 1, SSL_CTX_add_client_CA(context, certificate) == 1
            else { throw TLSError.openSSL(.context, "OpenSSL refused a CA certificate") }
        }
        // Depth counts intermediates as APISIX's `client.depth` does (nginx's ssl_verify_depth).
        SSL_CTX_set_verify_depth(context, Int32(verification.depth))
        if verification.required {
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        } else {
            // Completes the handshake whatever the certificate; each request then gets 400 with the reason.
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, acceptAnyCertificate)
        }
    }

    private static let acceptAnyCertificate: @convention(c) (Int32, OpaquePointer?) -> Int32 = { _, _ in 1 }

    private static let selectALPN:
        @convention(c) (
            OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
            UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
        ) -> Int32 = { ssl, out, outLength, offered, offeredLength, _ in
            // The connection's stream says whether its listener speaks HTTP/2 (ex_data 0).
            let stream = ssl.flatMap { SSL_get_ex_data($0, 0) }?.assumingMemoryBound(to: TLSStream.self)
            let server = stream?.pointee.offersHTTP2 == true ? TLSContextBuilder.alpnH2 : TLSContextBuilder.alpnHTTP11
            var selected: UnsafeMutablePointer<UInt8>?
            var selectedLength: UInt8 = 0
            let outcome = SSL_select_next_proto(
                &selected,
                &selectedLength,
                server.baseAddress!.assumingMemoryBound(to: UInt8.self),
                UInt32(server.count),
                offered,
                offeredLength
            )
            // No protocol in common: carry on without ALPN rather than fail a client that offers only h2.
            guard outcome == OPENSSL_NPN_NEGOTIATED, let selected else { return SSL_TLSEXT_ERR_NOACK }
            out?.pointee = UnsafePointer(selected)
            outLength?.pointee = selectedLength
            return SSL_TLSEXT_ERR_OK
        }
}

extension TLSContextBuilder {
    /// Builds and frees a context with `settings`, to check OpenSSL accepts the cipher settings.
    package static func probe(_ settings: TLSSettings) throws(TLSError) -> Bool {
        guard let context = SSL_CTX_new(TLS_server_method()) else {
            throw TLSError.openSSL(.context, "cannot create a TLS context")
        }
        defer { SSL_CTX_free(context) }
        try apply(settings, to: context)
        return true
    }
}
