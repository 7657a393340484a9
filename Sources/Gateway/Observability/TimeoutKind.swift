/// The timeouts the data plane counts in `gateway_timeouts_total{kind}`.
package enum TimeoutKind: Int, CaseIterable, Sendable {
    case clientHeader, clientBody, clientSend, upstreamConnect, upstreamSend, upstreamRead, tlsHandshake, tunnelIdle

    package var label: String {
        switch self {
        case .clientHeader: return "client_header"
        case .clientBody: return "client_body"
        case .clientSend: return "client_send"
        case .upstreamConnect: return "upstream_connect"
        case .upstreamSend: return "upstream_send"
        case .upstreamRead: return "upstream_read"
        case .tlsHandshake: return "tls_handshake"
        case .tunnelIdle: return "tunnel_idle"
        }
    }
}
