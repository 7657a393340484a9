/// When and how fast failed requests are retried on another node (`retry_on`, `retry_budget`, `retry_backoff`).
///
/// The number of retries and their total time stay in ``UpstreamConfig/retries`` and
/// ``UpstreamConfig/retryTimeout`` (APISIX's keys).
package struct RetryPolicy: Sendable, Equatable {
    /// A failure that may be retried.
    package enum Condition: String, Sendable, Equatable, CaseIterable {
        case connectFailure = "connect_failure"
        case timeout
        case status502 = "502"
        case status503 = "503"
        case status504 = "504"
    }

    /// Caps retries in flight to a share of active requests, so retries cannot amplify an outage.
    package struct Budget: Sendable, Equatable {
        /// Retries in flight may not exceed this percentage of active requests.
        package var percent: Int = 20
        /// Retries always allowed in flight, whatever the share.
        package var minRetries: Int = 3

        package init() {}

        /// Whether one more retry may start (per worker: `active` requests, `retrying` retries in flight).
        @inline(__always)
        package func allows(retrying: Int, active: Int) -> Bool {
            retrying < minRetries || retrying * 100 < active * percent
        }
    }

    /// Jittered exponential backoff between attempts.
    package struct Backoff: Sendable, Equatable {
        /// Delay before the first retry (before jitter).
        package var base: Duration = .milliseconds(25)
        /// Largest delay.
        package var max: Duration = .milliseconds(250)

        package init() {}

        /// "Full jitter": a delay in `0...min(max, base × 2^(retry-1))`; `unit` is a random value in 0..<1.
        package func delay(retry: Int, unit: Double) -> Duration {
            let doublings = Double(sign: .plus, exponent: Swift.max(0, Swift.min(retry - 1, 30)), significand: 1)
            let ceiling = Swift.min(max / .seconds(1), base / .seconds(1) * doublings)
            return .nanoseconds(Int64((ceiling * Swift.min(Swift.max(unit, 0), 1) * 1e9).rounded()))
        }
    }

    /// Failures that are retried.
    package var retryOn: [Condition] = [.connectFailure, .timeout]
    package var budget: Budget = Budget()
    package var backoff: Backoff = Backoff()

    package init() {}
}
