/// How many exchanges with one node ended in each way since the last report (a delta, summed over workers).
package struct NodeOutcomeCounts: Sendable, Equatable {
    package var successes: UInt64 = 0
    package var connectFailures: UInt64 = 0
    package var timeouts: UInt64 = 0
    /// Responses whose status counts as a failure.
    package var httpFailures: UInt64 = 0

    package init(successes: UInt64 = 0, connectFailures: UInt64 = 0, timeouts: UInt64 = 0, httpFailures: UInt64 = 0) {
        self.successes = successes
        self.connectFailures = connectFailures
        self.timeouts = timeouts
        self.httpFailures = httpFailures
    }

    /// Every kind of failure.
    package var failures: UInt64 { connectFailures &+ timeouts &+ httpFailures }
    /// Every counted exchange.
    package var total: UInt64 { successes &+ failures }
    package var isEmpty: Bool { total == 0 }

    package subscript(outcome: NodeOutcome) -> UInt64 {
        get {
            switch outcome {
            case .success: successes
            case .connectFailure: connectFailures
            case .timeout: timeouts
            case .httpFailure: httpFailures
            }
        }
        set {
            switch outcome {
            case .success: successes = newValue
            case .connectFailure: connectFailures = newValue
            case .timeout: timeouts = newValue
            case .httpFailure: httpFailures = newValue
            }
        }
    }
}
