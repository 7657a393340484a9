import Foundation

/// The state of one node for `/status` and metrics.
package struct NodeHealthSnapshot: Sendable, Equatable {
    package var upstreamID: String
    package var upstreamIndex: Int
    /// "host:port" as configured.
    package var node: String
    package var nodeIndex: Int
    package var boardIndex: Int
    /// What workers currently read.
    package var availability: NodeAvailability
    package var healthy: Bool
    package var circuit: CircuitState
    /// Wall-clock time of the last transition (or of the controller's start).
    package var since: Date
    /// Why the last transition happened ("" before the first).
    package var lastTransitionReason: String
    /// Outcomes over the circuit breaker's window.
    package var recent: NodeOutcomeCounts
    /// Transitions so far by target availability label ("open", "half_open", "unhealthy", "available").
    package var transitions: [String: UInt64]
    /// Active probes completed, and those that failed.
    package var activeChecks: UInt64
    package var activeCheckFailures: UInt64
    /// Generation last published for this node.
    package var generation: UInt32
}
