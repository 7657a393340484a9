/// A change of a node's published availability (or a refused ejection), with why and when.
package struct NodeTransition: Sendable, Equatable {
    package var from: NodeAvailability
    package var to: NodeAvailability
    /// Human-readable cause, for the log and `/status`.
    package var reason: String
    package var time: ContinuousClock.Instant

    package init(from: NodeAvailability, to: NodeAvailability, reason: String, time: ContinuousClock.Instant) {
        self.from = from
        self.to = to
        self.reason = reason
        self.time = time
    }
}

extension NodeAvailability {
    /// The label used in metrics (`to="..."`), logs and `/status`.
    package var label: String {
        switch self {
        case .available: "available"
        case .unhealthy: "unhealthy"
        case .open: "open"
        case .halfOpen: "half_open"
        }
    }
}
