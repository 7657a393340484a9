/// What one active health probe came to.
package enum ActiveProbeResult: Sendable, Equatable {
    /// Connected (tcp) or answered with a status in `healthy.http_statuses` (http).
    case success
    /// Answered with a status in `unhealthy.http_statuses`.
    case httpFailure(status: Int)
    /// Could not connect, or the connection broke before a status line.
    case tcpFailure
    /// No answer within `timeout`.
    case timeout
    /// Answered with a status in neither list: counts for nothing, as in APISIX.
    case ignored(status: Int)

    /// Whether this counts as a failed attempt in metrics.
    package var isFailure: Bool {
        switch self {
        case .success, .ignored: false
        case .httpFailure, .tcpFailure, .timeout: true
        }
    }
}
