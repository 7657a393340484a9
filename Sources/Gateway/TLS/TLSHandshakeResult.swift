import CSSL

/// How a TLS handshake ended: the `result` label of `gateway_tls_handshakes_total`, a closed set.
package enum TLSHandshakeResult: Int, Sendable, CaseIterable {
    case success
    /// `limits.tls_handshake_timeout` passed first (a stalled or slowloris client).
    case timeout
    /// The client closed or reset the connection mid-handshake.
    case peerClosed
    /// The client sent a plain HTTP request to a TLS port.
    case plainHTTP
    /// Bytes that are not TLS records, or records out of order.
    case protocolError
    /// No protocol version or cipher suite in common.
    case unsupported
    /// No certificate serves the client's SNI and there is no `tls.default_ssl`.
    case noCertificate
    /// `client.required` and the client sent no certificate, or one that failed verification.
    case clientCertificate
    /// Anything else (out of memory, an OpenSSL failure the gateway does not classify).
    case `internal`

    /// The label value.
    package var label: String {
        switch self {
        case .success: return "success"
        case .timeout: return "timeout"
        case .peerClosed: return "peer_closed"
        case .plainHTTP: return "plain_http"
        case .protocolError: return "protocol_error"
        case .unsupported: return "unsupported"
        case .noCertificate: return "no_certificate"
        case .clientCertificate: return "client_certificate"
        case .internal: return "internal"
        }
    }

    /// Classifies a failed `SSL_do_handshake` from OpenSSL's queued error reason (library and reason code).
    package static func classify(library: Int32, reason: Int32) -> TLSHandshakeResult {
        guard library == ERR_LIB_SSL else { return .internal }
        switch reason {
        case SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST: return .plainHTTP
        case SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_NO_SHARED_CIPHER, SSL_R_NO_PROTOCOLS_AVAILABLE,
            SSL_R_VERSION_TOO_LOW, SSL_R_VERSION_TOO_HIGH, SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM,
            SSL_R_NO_SHARED_GROUPS, SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS, SSL_R_TLSV1_ALERT_PROTOCOL_VERSION,
            SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE, SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY:
            return .unsupported
        case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE, SSL_R_CERTIFICATE_VERIFY_FAILED:
            return .clientCertificate
        case SSL_R_CALLBACK_FAILED, SSL_R_CLIENTHELLO_TLSEXT:
            return .noCertificate
        default: return .protocolError
        }
    }
}

/// The negotiated protocol: the `protocol` label (`TLSv1.2`, `TLSv1.3`, or `unknown` before agreement).
package enum TLSProtocolLabel: Int, Sendable, CaseIterable {
    case unknown
    case tls12
    case tls13

    package var label: String {
        switch self {
        case .unknown: return "unknown"
        case .tls12: return "TLSv1.2"
        case .tls13: return "TLSv1.3"
        }
    }

    /// From `SSL_version`.
    package init(version: Int32) {
        switch version {
        case TLS1_2_VERSION: self = .tls12
        case TLS1_3_VERSION: self = .tls13
        default: self = .unknown
        }
    }
}
