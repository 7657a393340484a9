/// Maps a response status to the passive outcome a worker records, without allocating.
///
/// With `checks.passive` the configured lists decide (a status in neither list is not recorded, as in
/// APISIX). Without it, 502, 503 and 504 count as failures for the circuit breaker and every other
/// status as a success.
package struct NodeOutcomeClassifier: Sendable, Equatable {
    /// Bit `status` set: statuses 0...639 in ten words.
    private var successes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    private var failures: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    package init(passive: PassiveHealthCheck?) {
        successes = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        failures = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let failing = passive?.unhealthy.httpStatuses ?? [502, 503, 504]
        let succeeding = passive?.healthy.httpStatuses ?? Array((100...599).filter { !failing.contains($0) })
        for status in failing { Self.set(&failures, status) }
        for status in succeeding { Self.set(&successes, status) }
    }

    /// The outcome to record for `status`, or nil when it counts for nothing.
    @inline(__always)
    package func outcome(status: Int) -> NodeOutcome? {
        guard status >= 0 && status < 640 else { return nil }
        if Self.test(failures, status) { return .httpFailure }
        if Self.test(successes, status) { return .success }
        return nil
    }

    private typealias Words = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    private static func set(_ words: inout Words, _ status: Int) {
        guard status >= 0 && status < 640 else { return }
        withUnsafeMutableBytes(of: &words) { raw in
            let pointer = raw.baseAddress!.assumingMemoryBound(to: UInt64.self)
            pointer[status >> 6] |= 1 << UInt64(status & 63)
        }
    }

    @inline(__always)
    private static func test(_ words: Words, _ status: Int) -> Bool {
        withUnsafeBytes(of: words) { raw in
            raw.load(fromByteOffset: (status >> 6) * 8, as: UInt64.self) & (1 << UInt64(status & 63)) != 0
        }
    }

    package static func == (lhs: NodeOutcomeClassifier, rhs: NodeOutcomeClassifier) -> Bool {
        (0..<640).allSatisfy { lhs.outcome(status: $0) == rhs.outcome(status: $0) }
    }
}
