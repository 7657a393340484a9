/// Outcome counts over a sliding time window, kept in a fixed ring of buckets.
package struct FailureWindow: Sendable, Equatable {
    private struct Bucket: Sendable, Equatable {
        var index: Int64 = .min
        var counts = NodeOutcomeCounts()
    }

    private static let bucketCount = 10
    private let origin: ContinuousClock.Instant
    private let bucketWidth: Duration
    private var buckets: [Bucket]

    package init(window: Duration, origin: ContinuousClock.Instant) {
        self.origin = origin
        bucketWidth = window / Self.bucketCount
        buckets = Array(repeating: Bucket(), count: Self.bucketCount)
    }

    private func index(at time: ContinuousClock.Instant) -> Int64 {
        Int64(((time - origin) / bucketWidth).rounded(.down))
    }

    /// Adds `counts` at `time`.
    package mutating func add(_ counts: NodeOutcomeCounts, at time: ContinuousClock.Instant) {
        let index = index(at: time)
        let slot = Int(((index % Int64(Self.bucketCount)) + Int64(Self.bucketCount)) % Int64(Self.bucketCount))
        if buckets[slot].index != index { buckets[slot] = Bucket(index: index) }
        buckets[slot].counts.successes &+= counts.successes
        buckets[slot].counts.connectFailures &+= counts.connectFailures
        buckets[slot].counts.timeouts &+= counts.timeouts
        buckets[slot].counts.httpFailures &+= counts.httpFailures
    }

    /// The sum of the buckets inside the window ending at `time`.
    package func totals(at time: ContinuousClock.Instant) -> NodeOutcomeCounts {
        let newest = index(at: time)
        var sum = NodeOutcomeCounts()
        for bucket in buckets where bucket.index <= newest && bucket.index > newest - Int64(Self.bucketCount) {
            sum.successes &+= bucket.counts.successes
            sum.connectFailures &+= bucket.counts.connectFailures
            sum.timeouts &+= bucket.counts.timeouts
            sum.httpFailures &+= bucket.counts.httpFailures
        }
        return sum
    }

    /// Forgets everything (after the circuit closes, old failures must not trip it again).
    package mutating func reset() {
        buckets = Array(repeating: Bucket(), count: Self.bucketCount)
    }
}
