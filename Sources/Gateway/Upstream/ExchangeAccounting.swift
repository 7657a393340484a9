/// A worker's count of requests with upstream attempts under way and of those that are retries:
/// what the retry budget (`retry_budget.percent` of active requests, at least `min_retries`) is
/// measured against. Plain single-threaded counters.
package struct ExchangeAccounting: Equatable {
    /// Requests whose first upstream attempt started and that have not ended.
    package private(set) var active = 0
    /// Of those, requests that have been retried at least once.
    package private(set) var retrying = 0

    package init() {}

    /// A request made its first upstream attempt.
    @inline(__always)
    package mutating func requestStarted() { active += 1 }

    /// A request was retried for the first time.
    @inline(__always)
    package mutating func retryStarted() { retrying += 1 }

    /// A request ended; `wasRetrying`: it counted as a retry.
    @inline(__always)
    package mutating func requestEnded(wasRetrying: Bool) {
        active -= 1
        if wasRetrying { retrying -= 1 }
    }

    /// Whether one more request may become a retry.
    @inline(__always)
    package func allowsRetry(percent: Int32, minimum: Int32) -> Bool {
        retrying < max(Int(minimum), active * Int(percent) / 100)
    }
}
