/// The error budget of one SLO objective as the live status page shows it, from the gateway's own
/// merged counters (the `slo` list of `/status/traffic`).
///
/// The gateway keeps no history, so the error ratio and the budget remaining count everything since the
/// gateway started, not the objective's window (Prometheus' `slo:period_error_budget_remaining:ratio`,
/// from `gateway rules`, is the windowed figure). The burn rate covers the page's sampling interval: the
/// two ``TrafficSnapshot``s the traffic rates are computed from. What is counted follows the rule
/// generator: a 5xx share of `gateway_http_requests_total` for availability (an upstream's: summed over
/// the enabled routes that send to it), the share of observations above the threshold's classic `le`
/// bucket for latency (`gateway_http_request_duration_seconds{route}`, or
/// `gateway_upstream_request_duration_seconds{upstream}` for an upstream).
package struct SLOStatus: Sendable, Equatable {
    /// The objective measured.
    package var objective: SLOObjective
    /// Requests (latency: observations) counted since start.
    package var events: Double
    /// Bad events over all events since start; nil without events, or when they cannot be told apart
    /// (see ``note``).
    package var errorRatio: Double?
    /// 1 − errorRatio / (1 − objective/100): 1 without events, below 0 once the budget is spent; nil
    /// when the ratio cannot be measured.
    package var budgetRemaining: Double?
    /// The error ratio of the interval over the error budget (1: spending the budget exactly as fast as
    /// the objective allows); nil without events in the interval.
    package var burnRate: Double?
    /// Why the figures are missing, when they are.
    package var note: String?

    package init(
        objective: SLOObjective,
        events: Double = 0,
        errorRatio: Double? = nil,
        budgetRemaining: Double? = nil,
        burnRate: Double? = nil,
        note: String? = nil
    ) {
        self.objective = objective
        self.events = events
        self.errorRatio = errorRatio
        self.budgetRemaining = budgetRemaining
        self.burnRate = burnRate
        self.note = note
    }

    /// Good and bad events since start and over the interval.
    private struct Counts {
        var total: Double = 0
        var bad: Double = 0
        var intervalTotal: Double = 0
        var intervalBad: Double = 0
    }

    /// One status per objective, in the objectives' order, from the readings `baseline` (the start of the
    /// interval) and `current` (now, which also holds the totals since start).
    package static func all(
        _ objectives: [SLOObjective],
        from baseline: TrafficSnapshot,
        to current: TrafficSnapshot
    ) -> [SLOStatus] {
        objectives.map { SLOStatus(objective: $0, from: baseline, to: current) }
    }

    /// Measures `objective` between the two readings.
    package init(objective: SLOObjective, from baseline: TrafficSnapshot, to current: TrafficSnapshot) {
        self.init(objective: objective)
        let counts: Counts
        switch objective.indicator {
        case .availability:
            counts = Self.availability(of: objective.subject, from: baseline, to: current)
        case .latency(let threshold):
            switch Self.latency(of: objective.subject, threshold: threshold, from: baseline, to: current) {
            case .success(let measured):
                counts = measured
            case .failure(let missing):
                note = missing.note
                return
            }
        }
        let budget = objective.errorBudget
        events = counts.total
        if counts.total > 0 {
            let ratio = counts.bad / counts.total
            errorRatio = ratio
            budgetRemaining = budget > 0 ? 1 - ratio / budget : nil
        } else {
            budgetRemaining = 1
        }
        if counts.intervalTotal > 0, budget > 0 {
            burnRate = counts.intervalBad / counts.intervalTotal / budget
        }
    }

    /// The routes whose requests an availability objective counts.
    private static func routes(of subject: SLOObjective.Subject) -> Set<String> {
        switch subject {
        case .route(let id): [id]
        case .upstream(_, let routes): Set(routes)
        }
    }

    /// 5xx responses among the subject's requests; a series whose count went down (a reset) counts
    /// from zero over the interval, as the traffic rates do.
    private static func availability(
        of subject: SLOObjective.Subject,
        from baseline: TrafficSnapshot,
        to current: TrafficSnapshot
    ) -> Counts {
        let routes = routes(of: subject)
        var counts = Counts()
        for (labels, series) in current.requests where routes.contains(series.route) {
            let before = baseline.requests[labels]?.count ?? 0
            let delta = series.count >= before ? series.count - before : series.count
            counts.total += series.count
            counts.intervalTotal += delta
            if series.serverError {
                counts.bad += series.count
                counts.intervalBad += delta
            }
        }
        return counts
    }

    /// A latency objective whose threshold is not a bucket bound of the layout the gateway records with.
    private struct MissingBucket: Error {
        var note: String
    }

    /// Observations above the `le` bucket at `threshold` among the subject's.
    private static func latency(
        of subject: SLOObjective.Subject,
        threshold: Double,
        from baseline: TrafficSnapshot,
        to current: TrafficSnapshot
    ) -> Result<Counts, MissingBucket> {
        let family: String
        let now: TrafficSnapshot.Latency?
        let before: TrafficSnapshot.Latency?
        switch subject {
        case .route(let id):
            family = TrafficSnapshot.durationFamily
            (now, before) = (current.latency[id], baseline.latency[id])
        case .upstream(let id, _):
            family = TrafficSnapshot.upstreamDurationFamily
            (now, before) = (current.upstreamLatency[id], baseline.upstreamLatency[id])
        }
        // The layout is fixed at start; without a series of the family yet there is nothing to check.
        guard let bounds = now?.bounds ?? current.layouts[family] else { return .success(Counts()) }
        guard let bucket = bucket(at: threshold, in: bounds) else {
            return .failure(
                MissingBucket(
                    note: "\(family) has no le=\"\(SLORuleGenerator.bound(threshold))\" bucket: the objective was "
                        + "added by a reload after start, and the gateway adds its threshold to the bucket layout "
                        + "at the next restart"
                )
            )
        }
        guard let now else { return .success(Counts()) }
        var counts = Counts()
        counts.total = Double(now.cumulative.last ?? 0)
        counts.bad = counts.total - Double(now.cumulative[bucket])
        let added = TrafficReport.delta(now, since: before)
        counts.intervalTotal = Double(added.last ?? 0)
        counts.intervalBad = counts.intervalTotal - Double(added[bucket])
        return .success(counts)
    }

    /// The index of the bound equal to `threshold` (both parsed from the same configuration text, so
    /// equal; the tolerance only absorbs printing round trips).
    private static func bucket(at threshold: Double, in bounds: [Double]) -> Int? {
        bounds.firstIndex { abs($0 - threshold) <= 1e-12 * max(1, abs(threshold)) }
    }
}
