#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Latency-aware balancing by peak-EWMA cost with power-of-two-choices (Finagle's and Linkerd's
/// `PeakEwma`).
///
/// Each node's cost is its latency estimate times its in-flight requests plus one. The estimate jumps
/// straight up to any slower sample (a node turning slow is avoided at once) and decays exponentially
/// with time otherwise, so a node that was slow is retried once its stale estimate has faded. Picking
/// the cheaper of two random nodes avoids the herd that "always the cheapest" causes between workers.
///
/// State lives in caller memory, one ``State`` per node per worker; nothing here allocates.
package enum PeakEWMA {
    /// Default decay time constant: 10 s, as in Finagle and Linkerd.
    package static let defaultDecayNanoseconds: UInt64 = 10_000_000_000

    /// Cost of a node that has requests in flight but no latency sample yet: high enough that a fresh
    /// node is not flooded before its first answer, ordered by its in-flight count.
    package static let unmeasuredPenaltyNanoseconds: Double = 1e12

    /// One node's balancing state, owned by one worker.
    package struct State: Sendable {
        /// Latency estimate in nanoseconds at `lastUpdate`; 0 until the first sample.
        package var ewmaNanoseconds: Double
        /// Monotonic time of the last sample, in nanoseconds.
        package var lastUpdate: UInt64
        /// Requests sent to the node and not yet finished.
        package var active: Int32

        /// A node with no sample yet, or with `initialLatencyNanoseconds` as its starting estimate.
        package init(initialLatencyNanoseconds: Double = 0, now: UInt64 = 0) {
            ewmaNanoseconds = initialLatencyNanoseconds
            lastUpdate = now
            active = 0
        }
    }

    /// Picks the cheaper of two distinct random available nodes; the only available one when there is
    /// one; -1 when there is none. `random` is xorshift64 state (any value; 0 is replaced).
    @inline(__always)
    package static func pick(
        count: Int,
        states: UnsafeMutablePointer<State>,
        isAvailable: (Int) -> Bool,
        random: inout UInt64,
        now: UInt64,
        decay: UInt64 = defaultDecayNanoseconds
    ) -> Int {
        guard count > 1 else { return count == 1 && isAvailable(0) ? 0 : -1 }
        // Fast path: two distinct random nodes, both available (uniform over available pairs).
        var first = below(count, &random)
        var second = below(count &- 1, &random)
        if second >= first { second &+= 1 }
        if !isAvailable(first) || !isAvailable(second) {
            // Slow path: draw the pair among the available nodes by rank.
            var available = 0
            for node in 0..<count where isAvailable(node) { available &+= 1 }
            if available == 0 { return -1 }
            if available == 1 {
                for node in 0..<count where isAvailable(node) { return node }
                return -1
            }
            let firstRank = below(available, &random)
            var secondRank = below(available &- 1, &random)
            if secondRank >= firstRank { secondRank &+= 1 }
            var rank = 0
            for node in 0..<count where isAvailable(node) {
                if rank == firstRank { first = node }
                if rank == secondRank { second = node }
                rank &+= 1
            }
        }
        let firstCost = cost(states[first], now: now, decay: decay)
        let secondCost = cost(states[second], now: now, decay: decay)
        return secondCost < firstCost ? second : first
    }

    /// Records a finished request's latency into `state` (the peak-EWMA update).
    ///
    /// A sample above the current estimate replaces it; otherwise the estimate moves toward the sample
    /// by `1 - exp(-elapsed / decay)`, elapsed being the time since the previous sample.
    @inline(__always)
    package static func observe(
        state: UnsafeMutablePointer<State>,
        latencyNanoseconds: UInt64,
        now: UInt64,
        decay: UInt64 = defaultDecayNanoseconds
    ) {
        let sample = Double(latencyNanoseconds)
        let current = state.pointee.ewmaNanoseconds
        if sample > current {
            state.pointee.ewmaNanoseconds = sample
        } else {
            let keep = retained(since: state.pointee.lastUpdate, now: now, decay: decay)
            state.pointee.ewmaNanoseconds = current * keep + sample * (1 - keep)
        }
        if now > state.pointee.lastUpdate { state.pointee.lastUpdate = now }
    }

    /// Counts a request sent to the node (call before the request leaves).
    @inline(__always)
    package static func started(state: UnsafeMutablePointer<State>) {
        state.pointee.active &+= 1
    }

    /// Counts a request finished and records its latency.
    @inline(__always)
    package static func finished(
        state: UnsafeMutablePointer<State>,
        latencyNanoseconds: UInt64,
        now: UInt64,
        decay: UInt64 = defaultDecayNanoseconds
    ) {
        if state.pointee.active > 0 { state.pointee.active &-= 1 }
        observe(state: state, latencyNanoseconds: latencyNanoseconds, now: now, decay: decay)
    }

    /// The node's cost now: its estimate decayed since the last sample, times in-flight plus one.
    @inline(__always)
    package static func cost(_ state: State, now: UInt64, decay: UInt64 = defaultDecayNanoseconds) -> Double {
        let active = Double(max(state.active, 0))
        if state.ewmaNanoseconds <= 0 {
            return state.active > 0 ? unmeasuredPenaltyNanoseconds + active : 0
        }
        let estimate = state.ewmaNanoseconds * retained(since: state.lastUpdate, now: now, decay: decay)
        return estimate * (active + 1)
    }

    /// Share of an estimate that survives from `since` to `now`: exp(-elapsed / decay).
    @inline(__always)
    private static func retained(since: UInt64, now: UInt64, decay: UInt64) -> Double {
        guard now > since, decay > 0 else { return now > since ? 0 : 1 }
        return exp(-Double(now &- since) / Double(decay))
    }

    /// Uniform-enough integer in `0..<bound` (bound > 0) from xorshift64 via Lemire's multiply-shift.
    @inline(__always)
    private static func below(_ bound: Int, _ random: inout UInt64) -> Int {
        if random == 0 { random = 0x9E37_79B9_7F4A_7C15 }
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return Int(truncatingIfNeeded: random.multipliedFullWidth(by: UInt64(bound)).high)
    }
}
