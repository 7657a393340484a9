/// The health and circuit-breaker state of one upstream node: a pure state machine that returns actions.
///
/// Fed outcome deltas from real traffic, active probe results and the passing of time; it decides
/// the availability the controller publishes. Two dimensions combine into that availability:
/// health (healthy/unhealthy, APISIX's consecutive counters) and the circuit (closed/open/half-open).
/// An open circuit wins over half-open, which wins over unhealthy.
///
/// Recovery works in every mode: with active checks an unhealthy node returns after
/// `active.healthy.successes` probes; with passive checks only, an unhealthy node is put on probation
/// (published half-open, so real traffic probes it) after an ejection time that doubles with each
/// relapse, and returns after `passive.healthy.successes` successes.
///
/// Within one report the order of outcomes is unknown; the machine assumes the successes came first,
/// so failures end the report (pessimistic for both streaks).
package struct NodeHealthMachine: Sendable {
    /// What the controller must do after an event.
    package enum Action: Sendable, Equatable {
        /// Availability changed: publish `transition.to` with a new generation and log it.
        case publish(NodeTransition)
        /// Still half-open after successful probes: publish again with a new generation so workers may
        /// send their next probe requests.
        case grantProbes
        /// The node met an ejection rule but the upstream's ejection cap kept it in service: log once.
        case ejectionCapped(NodeTransition)
    }

    /// Consecutive outcome counters, as lua-resty-healthcheck keeps them.
    package struct Streaks: Sendable, Equatable {
        package var successes = 0
        package var httpFailures = 0
        package var tcpFailures = 0
        package var timeouts = 0
    }

    /// Position of this node in its upstream (the ``EjectionGuard`` index).
    package var index: Int
    package let checks: HealthChecksConfig
    package let breaker: CircuitBreakerConfig

    package private(set) var isHealthy = true
    package private(set) var circuit: CircuitState = .closed
    package private(set) var published: NodeAvailability = .available
    /// Passive-only recovery: the unhealthy node is taking probe traffic.
    package private(set) var onProbation = false
    package private(set) var passiveStreaks = Streaks()
    package private(set) var activeStreaks = Streaks()
    package private(set) var consecutiveFailures = 0
    /// Openings since the circuit last stayed closed for a quiet period.
    package private(set) var openings = 0
    package private(set) var openUntil: ContinuousClock.Instant?
    /// Passive-only ejections since the node last stayed healthy for a quiet period.
    package private(set) var healthEjections = 0
    package private(set) var probationAt: ContinuousClock.Instant?
    /// Whether the ejection cap is currently holding this node in service (logged once).
    package private(set) var isCapped = false
    package private(set) var window: FailureWindow
    private var closedSince: ContinuousClock.Instant
    private var healthySince: ContinuousClock.Instant
    private var lastOpenTime: Duration = .zero
    private var lastProbationTime: Duration = .zero
    private var jitter: JitterSource

    package init(
        index: Int,
        checks: HealthChecksConfig?,
        circuitBreaker: CircuitBreakerConfig,
        now: ContinuousClock.Instant,
        seed: UInt64
    ) {
        self.index = index
        self.checks = checks ?? HealthChecksConfig()
        breaker = circuitBreaker
        window = FailureWindow(window: circuitBreaker.window, origin: now)
        closedSince = now
        healthySince = now
        jitter = JitterSource(seed: seed)
    }

    /// Failures and requests over the circuit's window, for `/status`.
    package func recent(at now: ContinuousClock.Instant) -> NodeOutcomeCounts {
        window.totals(at: now)
    }

    // MARK: - Events

    /// Outcomes of real traffic since the last report.
    package mutating func outcomes(
        _ counts: NodeOutcomeCounts,
        now: ContinuousClock.Instant,
        ejection: inout EjectionGuard
    ) -> Action? {
        guard !counts.isEmpty else { return nil }
        window.add(counts, at: now)
        var reasons: [String] = []
        var capped: String?
        if let passive = checks.passive {
            passiveHealth(counts, passive, now: now, ejection: &ejection, reasons: &reasons, capped: &capped)
        }
        if breaker.enabled {
            circuitOutcomes(counts, now: now, ejection: &ejection, reasons: &reasons, capped: &capped)
        }
        if counts.failures == 0 { isCapped = false }
        let action = settle(now: now, reasons: reasons, capped: capped, ejection: &ejection)
        if action == nil && published == .halfOpen && counts.successes > 0 { return .grantProbes }
        return action
    }

    /// The result of one active probe.
    package mutating func probe(
        _ result: ActiveProbeResult,
        now: ContinuousClock.Instant,
        ejection: inout EjectionGuard
    ) -> Action? {
        guard let active = checks.active else { return nil }
        var reasons: [String] = []
        var capped: String?
        switch result {
        case .success:
            activeStreaks = Streaks(successes: activeStreaks.successes + 1)
            isCapped = false
        case .httpFailure:
            activeStreaks.successes = 0
            activeStreaks.httpFailures += 1
        case .tcpFailure:
            activeStreaks.successes = 0
            activeStreaks.tcpFailures += 1
        case .timeout:
            activeStreaks.successes = 0
            activeStreaks.timeouts += 1
        case .ignored:
            return nil
        }
        if isHealthy {
            let limits = Streaks(
                httpFailures: active.unhealthy.httpFailures,
                tcpFailures: active.unhealthy.tcpFailures,
                timeouts: active.unhealthy.timeouts
            )
            if let breach = Self.breach(activeStreaks, limits, source: "active") {
                becomeUnhealthy(breach, now: now, ejection: &ejection, reasons: &reasons, capped: &capped)
            }
        } else if activeStreaks.successes >= active.healthy.successes {
            becomeHealthy(now: now)
            reasons.append("active: \(active.healthy.successes) consecutive successful probes")
        }
        return settle(now: now, reasons: reasons, capped: capped, ejection: &ejection)
    }

    /// The passing of time: open circuits turn half-open, passive-only ejections turn to probation,
    /// and ejection counts are forgotten after a quiet period.
    package mutating func tick(now: ContinuousClock.Instant, ejection: inout EjectionGuard) -> Action? {
        var reasons: [String] = []
        if circuit == .open, let until = openUntil, now >= until {
            circuit = .halfOpen
            openUntil = nil
            reasons.append("open time of \(Self.seconds(lastOpenTime)) elapsed; half-open")
        }
        if circuit == .closed && openings > 0 && now - closedSince >= max(breaker.window, lastOpenTime) {
            openings = 0
        }
        if !isHealthy && !onProbation, let at = probationAt, now >= at {
            onProbation = true
            probationAt = nil
            reasons.append(
                "no active checks: on probation after \(Self.seconds(lastProbationTime)); real traffic probes the node"
            )
        }
        if isHealthy && healthEjections > 0 && now - healthySince >= max(breaker.window, lastProbationTime) {
            healthEjections = 0
        }
        return settle(now: now, reasons: reasons, capped: nil, ejection: &ejection)
    }

    // MARK: - Rules

    private mutating func passiveHealth(
        _ counts: NodeOutcomeCounts,
        _ passive: PassiveHealthCheck,
        now: ContinuousClock.Instant,
        ejection: inout EjectionGuard,
        reasons: inout [String],
        capped: inout String?
    ) {
        passiveStreaks = Self.advance(passiveStreaks, by: counts)
        if isHealthy {
            let limits = Streaks(
                httpFailures: passive.unhealthy.httpFailures,
                tcpFailures: passive.unhealthy.tcpFailures,
                timeouts: passive.unhealthy.timeouts
            )
            if let breach = Self.breach(passiveStreaks, limits, source: "passive") {
                becomeUnhealthy(breach, now: now, ejection: &ejection, reasons: &reasons, capped: &capped)
            }
        } else if onProbation && counts.failures > 0 {
            onProbation = false
            scheduleProbation(now: now)
            reasons.append("passive: failure on probation; next probation in \(Self.seconds(lastProbationTime))")
        } else if passiveStreaks.successes >= passive.healthy.successes {
            reasons.append("passive: \(passiveStreaks.successes) consecutive successes")
            becomeHealthy(now: now)
        }
    }

    private mutating func circuitOutcomes(
        _ counts: NodeOutcomeCounts,
        now: ContinuousClock.Instant,
        ejection: inout EjectionGuard,
        reasons: inout [String],
        capped: inout String?
    ) {
        let failures = Int(clamping: counts.failures)
        consecutiveFailures = counts.successes > 0 ? failures : consecutiveFailures + failures
        switch circuit {
        case .closed:
            var rule: String?
            if consecutiveFailures >= breaker.consecutiveFailures {
                rule = "\(consecutiveFailures) consecutive failures"
            } else {
                let recent = window.totals(at: now)
                let ratio = Double(recent.failures) / Double(max(recent.total, 1))
                if recent.total >= UInt64(breaker.minRequests) && ratio >= breaker.failureRatio {
                    let percent = Int((ratio * 100).rounded())
                    rule = "failure ratio \(percent)% over \(recent.total) requests in \(Self.seconds(breaker.window))"
                }
            }
            guard let rule else { return }
            guard takeOutOfService(rule, ejection: &ejection, capped: &capped) else { return }
            open(now: now, reasons: &reasons, rule: rule)
        case .halfOpen:
            if failures > 0 {
                open(now: now, reasons: &reasons, rule: "half-open probe failed")
            } else if counts.successes > 0 {
                circuit = .closed
                closedSince = now
                consecutiveFailures = 0
                window.reset()
                reasons.append("half-open probe succeeded; closed")
            }
        case .open:
            break  // stragglers that were in flight when it opened
        }
    }

    private mutating func open(now: ContinuousClock.Instant, reasons: inout [String], rule: String) {
        openings += 1
        lastOpenTime = ejectionTime(count: openings)
        openUntil = now + lastOpenTime
        circuit = .open
        consecutiveFailures = 0
        reasons.append("\(rule); open for \(Self.seconds(lastOpenTime)) (opening \(openings))")
    }

    private mutating func becomeUnhealthy(
        _ rule: String,
        now: ContinuousClock.Instant,
        ejection: inout EjectionGuard,
        reasons: inout [String],
        capped: inout String?
    ) {
        guard takeOutOfService(rule, ejection: &ejection, capped: &capped) else { return }
        isHealthy = false
        onProbation = false
        passiveStreaks = Streaks()
        activeStreaks = Streaks()
        if checks.active == nil {
            scheduleProbation(now: now)
            reasons.append("\(rule); probation in \(Self.seconds(lastProbationTime))")
        } else {
            reasons.append(rule)
        }
    }

    private mutating func becomeHealthy(now: ContinuousClock.Instant) {
        isHealthy = true
        onProbation = false
        probationAt = nil
        healthySince = now
        passiveStreaks = Streaks()
        activeStreaks = Streaks()
    }

    private mutating func scheduleProbation(now: ContinuousClock.Instant) {
        healthEjections += 1
        lastProbationTime = ejectionTime(count: healthEjections)
        probationAt = now + lastProbationTime
    }

    /// Asks the upstream's guard before a node leaves service; a refusal is noted once.
    private mutating func takeOutOfService(
        _ rule: String,
        ejection: inout EjectionGuard,
        capped: inout String?
    ) -> Bool {
        if ejection.eject(index) { return true }
        if !isCapped {
            isCapped = true
            capped =
                "\(rule), but ejection capped: \(ejection.ejectedCount) of \(ejection.nodeCount) nodes already out "
                + "(max_ejection_percent \(breaker.maxEjectionPercent))"
        }
        return false
    }

    /// Publishes the combined availability when it changed, and keeps the guard in step.
    private mutating func settle(
        now: ContinuousClock.Instant,
        reasons: [String],
        capped: String?,
        ejection: inout EjectionGuard
    ) -> Action? {
        let availability: NodeAvailability
        switch circuit {
        case .open: availability = .open
        case .halfOpen: availability = .halfOpen
        case .closed: availability = isHealthy ? .available : (onProbation ? .halfOpen : .unhealthy)
        }
        if availability != published {
            let transition = NodeTransition(
                from: published,
                to: availability,
                reason: reasons.isEmpty ? "state changed" : reasons.joined(separator: "; "),
                time: now
            )
            published = availability
            if availability == .available {
                ejection.restore(index)
                isCapped = false
            }
            return .publish(transition)
        }
        if let capped {
            return .ejectionCapped(NodeTransition(from: published, to: published, reason: capped, time: now))
        }
        return nil
    }

    /// `base × 2^(count-1)` capped at the maximum, spread by ± jitter.
    private mutating func ejectionTime(count: Int) -> Duration {
        let doublings = Double(sign: .plus, exponent: max(0, min(count - 1, 40)), significand: 1)
        let base = breaker.baseEjectionTime / .seconds(1)
        let capped = min(breaker.maxEjectionTime / .seconds(1), base * doublings)
        let spread = breaker.jitter == 0 ? 1 : 1 + breaker.jitter * jitter.signedUnit()
        return .nanoseconds(Int64((capped * spread * 1e9).rounded()))
    }

    // MARK: - Helpers

    /// Successes first, then failures: a success resets every failure streak, a failure the success streak.
    private static func advance(_ streaks: Streaks, by counts: NodeOutcomeCounts) -> Streaks {
        var next = streaks
        if counts.successes > 0 {
            next = Streaks(successes: streaks.successes + Int(clamping: counts.successes))
        }
        if counts.failures > 0 {
            next.successes = 0
            next.httpFailures += Int(clamping: counts.httpFailures)
            next.tcpFailures += Int(clamping: counts.connectFailures)
            next.timeouts += Int(clamping: counts.timeouts)
        }
        return next
    }

    /// The first failure streak at its limit, described.
    private static func breach(_ streaks: Streaks, _ limits: Streaks, source: String) -> String? {
        if streaks.tcpFailures >= limits.tcpFailures {
            return "\(source): \(streaks.tcpFailures) consecutive connect failures"
        }
        if streaks.timeouts >= limits.timeouts { return "\(source): \(streaks.timeouts) consecutive timeouts" }
        if streaks.httpFailures >= limits.httpFailures {
            return "\(source): \(streaks.httpFailures) consecutive failure statuses"
        }
        return nil
    }

    static func seconds(_ duration: Duration) -> String {
        let value = duration / .seconds(1)
        let rounded = (value * 1000).rounded() / 1000
        return rounded == rounded.rounded() ? "\(Int(rounded))s" : "\(rounded)s"
    }
}
