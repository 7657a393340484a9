import Testing

@testable import Gateway

@Suite("Retry decision, exchange accounting and the keep-alive pool")
struct RetryDecisionTests {
    static func policy(
        retries: Int32 = 2,
        retryOn: ProxyPlan.RetryConditions = [.connectFailure, .timeout, .status503]
    )
        throws -> ProxyPlan.Upstream
    {
        let plan = try NodePickerTests.plan()
        var upstream = plan.upstreams[0]
        upstream.retries = retries
        upstream.retryOn = retryOn
        upstream.retryTimeout = 0
        upstream.retryBudgetPercent = 20
        upstream.retryBudgetMinimum = 3
        upstream.retryBackoffBase = 25_000_000
        upstream.retryBackoffMax = 250_000_000
        return upstream
    }

    static func attempt(
        _ condition: ProxyPlan.RetryConditions = .timeout,
        attempts: Int = 1,
        canResend: Bool = true,
        reached: Bool = true,
        idempotent: Bool = true,
        retrying: Bool = false
    ) -> RetryDecision.Attempt {
        RetryDecision.Attempt(
            condition: condition,
            attempts: attempts,
            elapsed: 0,
            canResend: canResend,
            mayHaveReachedNode: reached,
            idempotent: idempotent,
            alreadyRetrying: retrying
        )
    }

    static func decide(
        _ attempt: RetryDecision.Attempt,
        _ policy: ProxyPlan.Upstream,
        budget: ExchangeAccounting = ExchangeAccounting(),
        otherNode: Bool = true,
        random: UInt64 = 0
    ) -> RetryDecision {
        RetryDecision.decide(attempt, policy: policy, budget: budget, hasOtherNode: { otherNode }, random: { random })
    }

    @Test func refusedConnectIsRetriedAtOnceEvenForAPost() throws {
        let decision = Self.decide(Self.attempt(.connectFailure, reached: false, idempotent: false), try Self.policy())
        #expect(decision == .retry(delay: 0))
    }

    @Test func timeoutsBackOffExponentiallyWithJitterUnderTheCap() throws {
        let policy = try Self.policy(retries: 10)
        // attempt n: base × 2^(n−1) capped at max, then a delay in [half, all).
        for (attempts, backoff) in [(1, 25_000_000), (2, 50_000_000), (3, 100_000_000), (5, 250_000_000)]
            as [(Int, UInt64)]
        {
            #expect(Self.decide(Self.attempt(attempts: attempts), policy, random: 0) == .retry(delay: backoff / 2))
            let top = Self.decide(Self.attempt(attempts: attempts), policy, random: backoff / 2 - 1)
            #expect(top == .retry(delay: backoff - 1))
        }
    }

    @Test func eachReasonToGiveUp() throws {
        let policy = try Self.policy(retries: 1, retryOn: [.connectFailure, .timeout])
        #expect(Self.decide(Self.attempt(.status503), policy) == .giveUp(.notRetried))
        #expect(Self.decide(Self.attempt(attempts: 2), policy) == .giveUp(.attemptsExhausted))
        #expect(Self.decide(Self.attempt(canResend: false), policy) == .giveUp(.nothingToResend))
        #expect(Self.decide(Self.attempt(idempotent: false), policy) == .giveUp(.notIdempotent))
        #expect(Self.decide(Self.attempt(), policy, otherNode: false) == .giveUp(.noOtherNode))
        var timed = policy
        timed.retryTimeout = 1_000
        var late = Self.attempt()
        late.elapsed = 1_000
        #expect(Self.decide(late, timed) == .giveUp(.retryTimeout))
    }

    @Test func theBudgetAllowsMinRetriesThenAShareOfActiveRequests() throws {
        let policy = try Self.policy()
        var budget = ExchangeAccounting()
        for _ in 0..<10 { budget.requestStarted() }
        for _ in 0..<3 { budget.retryStarted() }
        // 10 active: 20% is 2, the minimum 3 applies, and 3 are retrying.
        #expect(Self.decide(Self.attempt(), policy, budget: budget) == .giveUp(.budgetExhausted))
        // A request already counted as a retry is not refused by the budget.
        #expect(Self.decide(Self.attempt(retrying: true), policy, budget: budget) != .giveUp(.budgetExhausted))
        for _ in 0..<10 { budget.requestStarted() }
        // 20 active: 20% is 4.
        #expect(Self.decide(Self.attempt(), policy, budget: budget) == .retry(delay: 12_500_000))
        budget.requestEnded(wasRetrying: true)
        #expect(budget.active == 19 && budget.retrying == 2)
    }

    @Test func keepAlivePoolHandsOutTheMostRecentAndUnparksAnyOne() {
        var pool = KeepAlivePool(nodeCount: 2, slotCapacity: 8)
        #expect(pool.take(node: 0) == nil)
        pool.park(slot: 3, node: 0)
        pool.park(slot: 5, node: 0)
        pool.park(slot: 6, node: 0)
        pool.park(slot: 1, node: 1)
        #expect(pool.count(node: 0) == 3 && pool.count(node: 1) == 1)
        pool.remove(slot: 5)  // the middle one closed
        #expect(!pool.contains(slot: 5) && pool.count(node: 0) == 2)
        pool.remove(slot: 5)  // unparking twice is harmless
        #expect(pool.take(node: 0) == 6)
        #expect(pool.take(node: 0) == 3)
        #expect(pool.take(node: 0) == nil)
        #expect(pool.take(node: 1) == 1)
        pool.park(slot: 3, node: 1)
        #expect(pool.contains(slot: 3) && pool.take(node: 1) == 3)
    }
}
