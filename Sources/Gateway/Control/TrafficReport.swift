/// Request rates, error ratios and latency quantiles over the interval between two ``TrafficSnapshot``s.
///
/// Every figure comes from the difference of the two readings: requests/s is the counted requests over
/// the interval divided by its length; p50/p99 are read from the histogram buckets filled during the
/// interval, interpolated linearly within a bucket as Prometheus' `histogram_quantile` does. A series
/// whose value went down (a counter reset) counts from zero.
package struct TrafficReport: Sendable {
    /// The traffic of one route over the interval.
    package struct Route: Sendable, Equatable {
        package var route: String
        package var requestsPerSecond: Double
        /// 5xx responses over all responses, nil without requests.
        package var errorRatio: Double?
        package var p50: Double?
        package var p99: Double?
        /// Requests answered since start (all series of the route).
        package var requestsTotal: Double
    }

    /// Seconds between the two readings.
    package var intervalSeconds: Double
    package var requestsPerSecond: Double
    package var errorRatio: Double?
    package var routes: [Route]

    /// Compares `current` with `baseline`; `order` lists the routes to show first (the configuration's),
    /// which are shown even without traffic. Routes only the metrics know (such as `__unmatched__`) follow,
    /// sorted.
    package init(from baseline: TrafficSnapshot, to current: TrafficSnapshot, order: [String]) {
        let interval = max(current.time - baseline.time, 0)
        intervalSeconds = interval
        var requests: [String: Double] = [:]
        var errors: [String: Double] = [:]
        var totals: [String: Double] = [:]
        for (labels, series) in current.requests {
            let before = baseline.requests[labels]?.count ?? 0
            let delta = series.count >= before ? series.count - before : series.count
            requests[series.route, default: 0] += delta
            if series.serverError { errors[series.route, default: 0] += delta }
            totals[series.route, default: 0] += series.count
        }
        let known = Set(order)
        let extra = Set(requests.keys).union(current.latency.keys).subtracting(known).sorted()
        var seen = Set<String>()
        routes = (order + extra).compactMap { route -> Route? in
            guard seen.insert(route).inserted else { return nil }
            let count = requests[route] ?? 0
            var latency: [UInt64]? = nil
            var bounds: [Double] = []
            if let now = current.latency[route] {
                bounds = now.bounds
                latency = Self.delta(now, since: baseline.latency[route])
            }
            return Route(
                route: route,
                requestsPerSecond: interval > 0 ? count / interval : 0,
                errorRatio: count > 0 ? (errors[route] ?? 0) / count : nil,
                p50: latency.flatMap { Self.quantile(0.5, bounds: bounds, cumulative: $0) },
                p99: latency.flatMap { Self.quantile(0.99, bounds: bounds, cumulative: $0) },
                requestsTotal: totals[route] ?? 0
            )
        }
        let all = requests.values.reduce(0, +)
        requestsPerSecond = interval > 0 ? all / interval : 0
        errorRatio = all > 0 ? errors.values.reduce(0, +) / all : nil
    }

    /// The buckets filled since `baseline` (all of `current` when the histogram was reset or re-bucketed).
    static func delta(_ current: TrafficSnapshot.Latency, since baseline: TrafficSnapshot.Latency?) -> [UInt64] {
        guard let baseline, baseline.bounds == current.bounds,
            baseline.cumulative.count == current.cumulative.count,
            zip(baseline.cumulative, current.cumulative).allSatisfy({ $0 <= $1 })
        else { return current.cumulative }
        return zip(current.cumulative, baseline.cumulative).map { $0 - $1 }
    }

    /// The `q` quantile of cumulative bucket counts (`cumulative.last` is +Inf), as Prometheus'
    /// `histogram_quantile` computes it: nil without observations, the highest finite bound when the
    /// rank falls in +Inf, linear interpolation inside a bucket (whose lower edge is 0 for the first).
    package static func quantile(_ q: Double, bounds: [Double], cumulative: [UInt64]) -> Double? {
        guard let total = cumulative.last, total > 0, cumulative.count == bounds.count + 1, !bounds.isEmpty else {
            return nil
        }
        let rank = q * Double(total)
        guard let bucket = cumulative.firstIndex(where: { Double($0) >= rank }), bucket < bounds.count else {
            return bounds.last
        }
        let upper = bounds[bucket]
        let lower = bucket == 0 ? min(0, upper) : bounds[bucket - 1]
        let below = bucket == 0 ? 0 : Double(cumulative[bucket - 1])
        let inBucket = Double(cumulative[bucket]) - below
        guard inBucket > 0 else { return upper }
        return lower + (upper - lower) * (rank - below) / inBucket
    }
}
