/// Per-connection limits and client timeouts (key `limits:`), with nginx-like defaults.
package struct LimitsConfig: Sendable, Equatable {
    /// Longest request line in bytes (`max_request_line`); longer gets 414.
    package var maxRequestLineBytes: Int = 8192
    /// Largest header block in bytes (`max_header_size`); larger gets 431.
    package var maxHeaderBytes: Int = 32768
    /// Most header fields in one request (`max_headers`); more gets 431.
    package var maxHeaderCount: Int = 100
    /// Time allowed to receive a complete header block (`header_timeout`); slower gets 408.
    package var headerTimeout: Duration = .seconds(10)
    /// How long an idle keep-alive client connection is kept (`keepalive_timeout`).
    package var keepaliveTimeout: Duration = .seconds(75)
    /// Longest gap between two reads of a request body (`body_timeout`).
    package var clientBodyTimeout: Duration = .seconds(60)
    /// Longest gap between two writes to a client (`send_timeout`).
    package var sendTimeout: Duration = .seconds(60)
    /// Time allowed for a TLS handshake to complete (`tls_handshake_timeout`), so a client stalling
    /// mid-handshake cannot hold a connection.
    package var tlsHandshakeTimeout: Duration = .seconds(10)
    /// Largest request body in bytes (`client_max_body_size`); 0 means unlimited. Routes may override it.
    package var clientMaxBodySize: Int64 = 0
    /// Most client connections one worker holds at once (`max_connections`).
    package var maxConnectionsPerWorker: Int = 65536

    package init() {}
}
