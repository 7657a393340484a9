/// What happened to an upstream connection: the `event` label of `gateway_upstream_connections_total`.
package enum UpstreamConnectionEvent: Int, CaseIterable, Sendable {
    /// A new TCP connection was established.
    case opened = 0
    /// A pooled keep-alive connection was taken for a request.
    case reused = 1
    /// A connect failed or timed out.
    case failed = 2

    /// The label value.
    package var label: String {
        switch self {
        case .opened: "opened"
        case .reused: "reused"
        case .failed: "failed"
        }
    }
}
