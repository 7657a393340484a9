/// Per-node circuit breaker settings of an upstream (`circuit_breaker`).
package struct CircuitBreakerConfig: Sendable, Equatable {
    /// Whether circuits may open at all.
    package var enabled: Bool = true
    /// Failures in a row (connect failures, timeouts, failure statuses) that open the circuit.
    package var consecutiveFailures: Int = 5
    /// Share of failed requests in ``window`` that opens the circuit, 0 < ratio <= 1.
    package var failureRatio: Double = 0.5
    /// Requests in ``window`` before ``failureRatio`` is considered.
    package var minRequests: Int = 20
    /// Length of the sliding window the ratio is computed over.
    package var window: Duration = .seconds(10)
    /// Open time of the first opening; each further opening doubles it.
    package var baseEjectionTime: Duration = .seconds(5)
    /// Cap of the open time.
    package var maxEjectionTime: Duration = .seconds(300)
    /// Highest share of an upstream's nodes that may be out of service at once (Envoy's `max_ejection_percent`).
    package var maxEjectionPercent: Int = 50
    /// Probe requests each worker may send to a half-open node per grant.
    package var halfOpenRequests: Int = 1
    /// Relative random spread of the open time (0.1 = ±10 %).
    package var jitter: Double = 0.1

    package init() {}
}
