/// Whether a failed attempt goes again to another node, and after how long.
///
/// Pure: the upstream's policy, what is known about the request and the worker's retry budget in,
/// a decision out. The worker applies it (moves the kept request, counts the retry, waits).
package enum RetryDecision: Equatable {
    /// Send the request again to another node after `delay` nanoseconds (0: at once).
    case retry(delay: UInt64)
    /// Answer the client with the failure.
    case giveUp(Reason)

    /// Why a failure is not retried.
    package enum Reason: Equatable {
        /// `retry_on` does not list this failure.
        case notRetried
        /// `retries` attempts after the first were already made.
        case attemptsExhausted
        /// `retry_timeout` has passed since the first attempt.
        case retryTimeout
        /// The request's bytes are not kept (a streamed body already went out).
        case nothingToResend
        /// The request may have reached the node and is not idempotent.
        case notIdempotent
        /// Retries in flight reached the upstream's retry budget.
        case budgetExhausted
        /// Every other node was tried or cannot take traffic.
        case noOtherNode
    }

    /// What is known about the failed attempt and its request.
    package struct Attempt {
        /// What went wrong.
        package var condition: ProxyPlan.RetryConditions
        /// Attempts made so far (1 after the first).
        package var attempts: Int
        /// Nanoseconds since the first attempt started.
        package var elapsed: UInt64
        /// The request's bytes are kept and can be sent again.
        package var canResend: Bool
        /// The request may have reached the node (anything past a failed connect).
        package var mayHaveReachedNode: Bool
        /// GET, HEAD, OPTIONS, TRACE, PUT, DELETE.
        package var idempotent: Bool
        /// The request already counts as a retry in the budget.
        package var alreadyRetrying: Bool

        package init(
            condition: ProxyPlan.RetryConditions,
            attempts: Int,
            elapsed: UInt64,
            canResend: Bool,
            mayHaveReachedNode: Bool,
            idempotent: Bool,
            alreadyRetrying: Bool
        ) {
            self.condition = condition
            self.attempts = attempts
            self.elapsed = elapsed
            self.canResend = canResend
            self.mayHaveReachedNode = mayHaveReachedNode
            self.idempotent = idempotent
            self.alreadyRetrying = alreadyRetrying
        }
    }

    /// Decides for `attempt` under `policy`, given the worker's `budget` accounting. `hasOtherNode` is
    /// asked last (it scans nodes); `random` gives the backoff jitter.
    @inline(__always)
    package static func decide(
        _ attempt: Attempt,
        policy: ProxyPlan.Upstream,
        budget: ExchangeAccounting,
        hasOtherNode: () -> Bool,
        random: () -> UInt64
    ) -> RetryDecision {
        guard policy.retryOn.contains(attempt.condition) else { return .giveUp(.notRetried) }
        guard attempt.attempts <= Int(policy.retries) else { return .giveUp(.attemptsExhausted) }
        if policy.retryTimeout > 0 && attempt.elapsed >= policy.retryTimeout { return .giveUp(.retryTimeout) }
        guard attempt.canResend else { return .giveUp(.nothingToResend) }
        // Once the request may have reached the upstream, only idempotent requests are sent twice.
        if attempt.mayHaveReachedNode && !attempt.idempotent { return .giveUp(.notIdempotent) }
        guard
            attempt.alreadyRetrying
                || budget.allowsRetry(percent: policy.retryBudgetPercent, minimum: policy.retryBudgetMinimum)
        else { return .giveUp(.budgetExhausted) }
        guard hasOtherNode() else { return .giveUp(.noOtherNode) }
        // A refused connect goes straight to another node: nothing reached the failed one, so waiting
        // would only hold the retry (and the budget) longer. Timeouts and 5xx back off: jittered
        // exponential, base × 2^(attempt-1), capped, times a random factor in [0.5, 1).
        guard attempt.condition != .connectFailure else { return .retry(delay: 0) }
        let exponent = min(max(0, attempt.attempts - 1), 20)
        let backoff = min(policy.retryBackoffMax, policy.retryBackoffBase << UInt64(exponent))
        return .retry(delay: backoff / 2 + random() % max(1, backoff / 2))
    }
}
