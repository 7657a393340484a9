/// The state of one node's circuit breaker.
package enum CircuitState: String, Sendable, Equatable, CaseIterable {
    /// Traffic flows; failures are counted.
    case closed
    /// No traffic until the open time ends.
    case open
    /// A bounded number of probe requests per worker decide whether it closes or re-opens.
    case halfOpen = "half_open"
}
