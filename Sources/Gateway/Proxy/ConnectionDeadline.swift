/// Why a client connection's timer is set. Each connection has one timer; its kind says what
/// expiry means, so nothing has to be guessed from the connection's flags when it fires.
package enum ClientDeadline: UInt8, Sendable {
    case none
    /// The request head must be complete (`limits.header_timeout`, from accept or from the first byte
    /// of a keep-alive request): 408 if any of it arrived, otherwise a silent close.
    case header
    /// An idle keep-alive connection closes (`limits.keepalive_timeout`).
    case keepAlive
    /// More request body must arrive (`limits.body_timeout`): 408.
    case body
    /// A send to the client must complete (`limits.send_timeout`): close.
    case send
    /// A retry that waited out its backoff starts now.
    case retryBackoff
    /// A lingering close stops waiting for the client's end of stream.
    case linger
    /// A request a plugin delayed (`limit-req`, `limit-conn`) goes on with its next plugin.
    case pluginDelay
    /// A request waiting for a rate-limit backend's answer (Redis) stops waiting: its plugin goes on
    /// as `redis.on_error` says.
    case backendWait
    /// The TLS handshake must complete (`limits.tls_handshake_timeout`): close.
    case tlsHandshake
    /// A TLS keep-alive connection has idled a second: give its record buffers back, then wait out the
    /// rest of `limits.keepalive_timeout`.
    case tlsIdleTrim
    /// A tunnel closes if no byte moved either way for its idle timeout (`websocket_idle_timeout`, else
    /// the upstream's `timeout.read`); sends to the client use the `send` kind meanwhile.
    case tunnelIdle
}

/// Why an upstream connection's timer is set.
package enum UpstreamDeadline: UInt8, Sendable {
    case none
    /// The connect must complete (`timeout.connect`): 504, or a retry.
    case connect
    /// A send of the request must complete (`timeout.send`): 504, or a retry.
    case send
    /// More response must arrive (`timeout.read`): 504, or a retry before the head.
    case read
    /// A pooled idle connection is closed (`keepalive_pool.idle_timeout`).
    case poolIdle
}
