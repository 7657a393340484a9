import Testing

@testable import Gateway

@Suite struct NodeHealthMachineTests {
    let t0 = ContinuousClock.now

    func at(_ seconds: Double) -> ContinuousClock.Instant {
        t0 + .nanoseconds(Int64(seconds * 1e9))
    }

    static func breaker(_ change: (inout CircuitBreakerConfig) -> Void = { _ in }) -> CircuitBreakerConfig {
        var config = CircuitBreakerConfig()
        config.jitter = 0
        change(&config)
        return config
    }

    func machine(
        index: Int = 0,
        checks: HealthChecksConfig? = nil,
        breaker: CircuitBreakerConfig = breaker(),
        seed: UInt64 = 1
    ) -> NodeHealthMachine {
        NodeHealthMachine(index: index, checks: checks, circuitBreaker: breaker, now: t0, seed: seed)
    }

    static func transition(_ action: NodeHealthMachine.Action?) -> NodeTransition? {
        if case .publish(let transition) = action { return transition }
        return nil
    }

    static let failure = NodeOutcomeCounts(connectFailures: 1)
    static let success = NodeOutcomeCounts(successes: 1)

    @Test func consecutiveFailuresOpenTheCircuit() throws {
        var node = machine()
        var guard_ = EjectionGuard(nodeCount: 1, maxEjectionPercent: 50)
        for second in 0..<4 { #expect(node.outcomes(Self.failure, now: at(Double(second)), ejection: &guard_) == nil) }
        // A success in the same report comes first: the streak restarts at this report's failures.
        #expect(node.outcomes(NodeOutcomeCounts(successes: 1, timeouts: 2), now: at(4), ejection: &guard_) == nil)
        #expect(node.consecutiveFailures == 2)
        #expect(node.outcomes(NodeOutcomeCounts(httpFailures: 2), now: at(4.5), ejection: &guard_) == nil)
        let transition = try #require(
            Self.transition(node.outcomes(Self.failure, now: at(5), ejection: &guard_))
        )
        #expect(transition.from == .available && transition.to == .open && transition.time == at(5))
        #expect(transition.reason.contains("5 consecutive failures"), "\(transition.reason)")
        #expect(transition.reason.contains("open for 5s"))
        #expect(node.circuit == .open && node.published == .open && guard_.isEjected(0))
    }

    @Test func failureRatioNeedsTheMinimumVolumeInTheWindow() throws {
        var node = machine(breaker: Self.breaker { $0.consecutiveFailures = 1000 })
        var guard_ = EjectionGuard(nodeCount: 1, maxEjectionPercent: 100)
        // 19 requests, 10 failed: over the ratio but under min_requests.
        #expect(node.outcomes(NodeOutcomeCounts(successes: 9, timeouts: 10), now: at(0), ejection: &guard_) == nil)
        // Old requests leave the window: 11 s later the first 19 no longer count.
        #expect(node.outcomes(NodeOutcomeCounts(successes: 10, timeouts: 9), now: at(11), ejection: &guard_) == nil)
        #expect(node.recent(at: at(11)).total == 19)
        let transition = try #require(
            Self.transition(node.outcomes(NodeOutcomeCounts(timeouts: 1), now: at(12), ejection: &guard_))
        )
        #expect(transition.to == .open)
        #expect(transition.reason.contains("failure ratio 50% over 20 requests in 10s"), "\(transition.reason)")
    }

    @Test func openTimeDoublesWithEachOpeningUpToTheCap() throws {
        var node = machine(breaker: Self.breaker { $0.maxEjectionTime = .seconds(12) })
        var guard_ = EjectionGuard(nodeCount: 1, maxEjectionPercent: 50)
        var now = 0.0
        for expected in [5.0, 10, 12, 12] {
            let five = NodeOutcomeCounts(connectFailures: 5)
            let opened = node.circuit == .halfOpen ? Self.failure : five
            let transition = try #require(Self.transition(node.outcomes(opened, now: at(now), ejection: &guard_)))
            #expect(transition.to == .open)
            #expect(node.openUntil == at(now + expected))
            #expect(node.tick(now: at(now + expected - 0.01), ejection: &guard_) == nil)
            let halfOpen = try #require(Self.transition(node.tick(now: at(now + expected), ejection: &guard_)))
            #expect(halfOpen.from == .open && halfOpen.to == .halfOpen)
            #expect(halfOpen.reason.contains("elapsed"))
            now += expected
        }
        #expect(node.openings == 4)
    }

    @Test func halfOpenSuccessClosesAndAQuietPeriodForgetsOpenings() throws {
        var node = machine()
        var guard_ = EjectionGuard(nodeCount: 2, maxEjectionPercent: 50)
        _ = node.outcomes(NodeOutcomeCounts(connectFailures: 5), now: at(0), ejection: &guard_)
        _ = node.tick(now: at(5), ejection: &guard_)
        #expect(node.published == .halfOpen && guard_.isEjected(0))
        let closed = try #require(Self.transition(node.outcomes(Self.success, now: at(6), ejection: &guard_)))
        #expect(closed.from == .halfOpen && closed.to == .available && closed.reason.contains("succeeded"))
        #expect(!guard_.isEjected(0) && node.openings == 1)
        _ = node.tick(now: at(15.9), ejection: &guard_)
        #expect(node.openings == 1)
        _ = node.tick(now: at(16), ejection: &guard_)
        #expect(node.openings == 0)
        _ = node.outcomes(NodeOutcomeCounts(connectFailures: 5), now: at(17), ejection: &guard_)
        #expect(node.openUntil == at(22))
    }

    @Test func halfOpenFailureReopensForLonger() throws {
        var node = machine()
        var guard_ = EjectionGuard(nodeCount: 1, maxEjectionPercent: 50)
        _ = node.outcomes(NodeOutcomeCounts(connectFailures: 5), now: at(0), ejection: &guard_)
        _ = node.tick(now: at(5), ejection: &guard_)
        // A report with both: the failure wins.
        let reopened = try #require(
            Self.transition(
                node.outcomes(NodeOutcomeCounts(successes: 1, timeouts: 1), now: at(5.1), ejection: &guard_)
            )
        )
        #expect(
            reopened.from == .halfOpen && reopened.to == .open && reopened.reason.contains("half-open probe failed")
        )
        #expect(node.openUntil == at(15.1))
    }

    @Test func flappingNodeIsKeptOutLongerEachTime() throws {
        var node = machine()
        var guard_ = EjectionGuard(nodeCount: 1, maxEjectionPercent: 50)
        var now = 0.0
        var openTimes: [Duration] = []
        for _ in 0..<4 {
            let opened = try #require(
                Self.transition(node.outcomes(NodeOutcomeCounts(connectFailures: 5), now: at(now), ejection: &guard_))
            )
            #expect(opened.to == .open)
            let until = try #require(node.openUntil)
            openTimes.append(until - at(now))
            now = (until - t0) / .seconds(1)
            #expect(Self.transition(node.tick(now: at(now), ejection: &guard_))?.to == .halfOpen)
            #expect(Self.transition(node.outcomes(Self.success, now: at(now), ejection: &guard_))?.to == .available)
            now += 1  // fails again soon after coming back
        }
        #expect(openTimes == [.seconds(5), .seconds(10), .seconds(20), .seconds(40)])
    }

    @Test func jitterSpreadsOpenTimesReproducibly() throws {
        func openTime(seed: UInt64) -> Duration {
            var node = machine(breaker: Self.breaker { $0.jitter = 0.1 }, seed: seed)
            var guard_ = EjectionGuard(nodeCount: 1, maxEjectionPercent: 50)
            _ = node.outcomes(NodeOutcomeCounts(connectFailures: 5), now: at(0), ejection: &guard_)
            return node.openUntil! - t0
        }
        let times = (1...20).map { openTime(seed: UInt64($0)) }
        #expect(times.allSatisfy { $0 >= .milliseconds(4500) && $0 <= .milliseconds(5500) })
        #expect(Set(times.map { $0 / .milliseconds(1) }).count > 10)
        #expect(openTime(seed: 7) == openTime(seed: 7))
    }

    @Test func passiveOnlyUnhealthyNodeComesBackThroughProbation() throws {
        var breaker = Self.breaker()
        breaker.enabled = false
        var node = machine(checks: HealthChecksConfig(passive: PassiveHealthCheck()), breaker: breaker)
        var guard_ = EjectionGuard(nodeCount: 1, maxEjectionPercent: 50)
        #expect(node.outcomes(Self.failure, now: at(0), ejection: &guard_) == nil)
        let down = try #require(Self.transition(node.outcomes(Self.failure, now: at(1), ejection: &guard_)))
        #expect(down.to == .unhealthy && down.reason.contains("passive: 2 consecutive connect failures"))
        #expect(down.reason.contains("probation in 5s"))
        #expect(node.tick(now: at(5.9), ejection: &guard_) == nil)
        let probation = try #require(Self.transition(node.tick(now: at(6), ejection: &guard_)))
        #expect(probation.from == .unhealthy && probation.to == .halfOpen && probation.reason.contains("probation"))
        // Each success on probation grants the workers their next probe requests.
        for second in 0..<4 {
            #expect(node.outcomes(Self.success, now: at(7 + Double(second)), ejection: &guard_) == .grantProbes)
        }
        let back = try #require(Self.transition(node.outcomes(Self.success, now: at(11), ejection: &guard_)))
        #expect(back.from == .halfOpen && back.to == .available && back.reason.contains("5 consecutive successes"))
        #expect(node.isHealthy && !guard_.isEjected(0))
    }

    @Test func passiveOnlyRelapseOnProbationWaitsLonger() throws {
        var node = machine(checks: HealthChecksConfig(passive: PassiveHealthCheck()))
        var guard_ = EjectionGuard(nodeCount: 1, maxEjectionPercent: 50)
        _ = node.outcomes(NodeOutcomeCounts(connectFailures: 2), now: at(0), ejection: &guard_)
        #expect(node.published == .unhealthy)
        _ = node.tick(now: at(5), ejection: &guard_)
        #expect(node.published == .halfOpen && node.circuit == .closed)
        let relapse = try #require(Self.transition(node.outcomes(Self.failure, now: at(6), ejection: &guard_)))
        #expect(
            relapse.from == .halfOpen && relapse.to == .unhealthy && relapse.reason.contains("next probation in 10s")
        )
        #expect(node.probationAt == at(16))
    }

    @Test func activeChecksRecoverAfterHealthySuccesses() throws {
        var node = machine(checks: HealthChecksConfig(active: ActiveHealthCheck()))
        var guard_ = EjectionGuard(nodeCount: 1, maxEjectionPercent: 50)
        #expect(node.probe(.tcpFailure, now: at(0), ejection: &guard_) == nil)
        let down = try #require(Self.transition(node.probe(.tcpFailure, now: at(1), ejection: &guard_)))
        #expect(down.to == .unhealthy && down.reason == "active: 2 consecutive connect failures")
        // No probation with active checks: only probes bring it back, however long it takes.
        #expect(node.tick(now: at(1000), ejection: &guard_) == nil && node.published == .unhealthy)
        #expect(node.probe(.success, now: at(1001), ejection: &guard_) == nil)
        #expect(node.probe(.timeout, now: at(1002), ejection: &guard_) == nil)
        #expect(node.probe(.ignored(status: 418), now: at(1003), ejection: &guard_) == nil)
        #expect(node.probe(.success, now: at(1004), ejection: &guard_) == nil)
        let up = try #require(Self.transition(node.probe(.success, now: at(1005), ejection: &guard_)))
        #expect(up.from == .unhealthy && up.to == .available && up.reason.contains("2 consecutive successful probes"))
    }

    @Test func activeFailureKindsEachHaveTheirThreshold() throws {
        var node = machine(checks: HealthChecksConfig(active: ActiveHealthCheck()))
        var guard_ = EjectionGuard(nodeCount: 1, maxEjectionPercent: 50)
        for _ in 0..<4 { #expect(node.probe(.httpFailure(status: 500), now: at(0), ejection: &guard_) == nil) }
        #expect(node.probe(.timeout, now: at(0), ejection: &guard_) == nil)
        #expect(node.probe(.timeout, now: at(0), ejection: &guard_) == nil)
        let down = try #require(Self.transition(node.probe(.httpFailure(status: 503), now: at(0), ejection: &guard_)))
        #expect(down.reason == "active: 5 consecutive failure statuses")
    }

    @Test func ejectionCapKeepsNodesInServiceAndSaysSoOnce() throws {
        var guard_ = EjectionGuard(nodeCount: 3, maxEjectionPercent: 50)
        #expect(guard_.limit == 1)
        var first = machine(index: 0)
        var second = machine(index: 1)
        let five = NodeOutcomeCounts(connectFailures: 5)
        #expect(Self.transition(first.outcomes(five, now: at(0), ejection: &guard_))?.to == .open)
        guard case .ejectionCapped(let note) = second.outcomes(five, now: at(0), ejection: &guard_) else {
            Issue.record("expected ejectionCapped")
            return
        }
        #expect(note.from == .available && note.to == .available && note.reason.contains("ejection capped"))
        #expect(second.published == .available && second.circuit == .closed)
        #expect(second.outcomes(Self.failure, now: at(1), ejection: &guard_) == nil)
        // The first node comes back; the second is ejected on its next failure.
        _ = first.tick(now: at(5), ejection: &guard_)
        #expect(Self.transition(first.outcomes(Self.success, now: at(5), ejection: &guard_))?.to == .available)
        #expect(Self.transition(second.outcomes(Self.failure, now: at(6), ejection: &guard_))?.to == .open)
        #expect(guard_.isEjected(1) && !guard_.isEjected(0))
    }

    @Test func ejectionCapAppliesToHealthChecksToo() {
        var guard_ = EjectionGuard(nodeCount: 2, maxEjectionPercent: 0)
        var node = machine(checks: HealthChecksConfig(active: ActiveHealthCheck()))
        _ = node.probe(.tcpFailure, now: at(0), ejection: &guard_)
        guard case .ejectionCapped = node.probe(.tcpFailure, now: at(1), ejection: &guard_) else {
            Issue.record("expected ejectionCapped")
            return
        }
        #expect(node.isHealthy && node.published == .available)
    }

    @Test func guardLimits() {
        #expect(EjectionGuard(nodeCount: 1, maxEjectionPercent: 50).limit == 1)
        #expect(EjectionGuard(nodeCount: 10, maxEjectionPercent: 50).limit == 5)
        #expect(EjectionGuard(nodeCount: 3, maxEjectionPercent: 100).limit == 3)
        #expect(EjectionGuard(nodeCount: 3, maxEjectionPercent: 0).limit == 0)
    }

    @Test func disabledBreakerNeverOpens() {
        var node = machine(breaker: Self.breaker { $0.enabled = false })
        var guard_ = EjectionGuard(nodeCount: 1, maxEjectionPercent: 100)
        #expect(node.outcomes(NodeOutcomeCounts(connectFailures: 500), now: at(0), ejection: &guard_) == nil)
        #expect(node.published == .available)
    }
}
