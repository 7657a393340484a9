/// A token bucket for frames a client may send at a sustained `rate` per second after a burst of `burst`
/// (rapid reset, PING and SETTINGS floods). Starts full; refilled from the worker's loop clock.
package struct HTTP2RateBucket: Sendable {
    private var tokens: Int64 = -1
    private var refilled: UInt64 = 0

    package init() {}

    /// Takes one token at time `now` (nanoseconds); false when the client is over its rate.
    package mutating func take(now: UInt64, rate: Int64, burst: Int64) -> Bool {
        if tokens < 0 {
            tokens = burst
            refilled = now
        }
        let earned = Int64((now &- refilled) / 1_000_000) * rate / 1000
        if earned > 0 {
            tokens = min(burst, tokens + earned)
            refilled = now
        }
        guard tokens > 0 else { return false }
        tokens -= 1
        return true
    }
}
