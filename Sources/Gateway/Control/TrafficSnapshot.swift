import Telemetry

/// One reading of the request counters and latency histograms, merged across the worker shards.
///
/// Taken on the control thread from the metric registry (never on a worker). Two readings make a
/// ``TrafficReport``: rates and quantiles come from their differences, not from totals since start.
package struct TrafficSnapshot: Sendable {
    /// One series of `gateway_http_requests_total`.
    package struct RequestSeries: Sendable {
        package var route: String
        package var serverError: Bool
        package var count: Double
    }

    /// The classic buckets of one route's `gateway_http_request_duration_seconds`.
    package struct Latency: Sendable {
        package var bounds: [Double]
        /// Cumulative counts for each bound, then +Inf.
        package var cumulative: [UInt64]
    }

    /// Monotonic seconds at which the reading was taken.
    package var time: Double
    /// Request counts by the full label values of their series (so a reset series is told apart).
    package var requests: [[String]: RequestSeries]
    /// Latency histograms by route.
    package var latency: [String: Latency]

    /// The metric families this reads.
    package static let requestsFamily = "gateway_http_requests_total"
    package static let durationFamily = "gateway_http_request_duration_seconds"

    /// A reading with nothing counted yet (the baseline before any traffic).
    package init(time: Double) {
        self.time = time
        self.requests = [:]
        self.latency = [:]
    }

    /// Reads the two families from `registry` without disturbing what `/metrics` shows.
    package static func read(from registry: MetricRegistry, at time: Double) -> TrafficSnapshot {
        var snapshot = TrafficSnapshot(time: time)
        for family in registry.read([requestsFamily, durationFamily]) {
            guard let routeIndex = family.labelNames.firstIndex(of: "route") else { continue }
            let codeIndex = family.labelNames.firstIndex(of: "code")
            for series in family.series {
                let route = series.labelValues[routeIndex]
                switch series.value {
                case .counter:
                    let code = codeIndex.map { series.labelValues[$0] } ?? ""
                    snapshot.requests[series.labelValues] = RequestSeries(
                        route: route,
                        serverError: code.hasPrefix("5"),
                        count: series.value.counterTotal
                    )
                case .histogram(let histogram):
                    snapshot.latency[route] = Latency(bounds: histogram.bounds, cumulative: histogram.cumulative)
                case .gauge:
                    continue
                }
            }
        }
        return snapshot
    }
}
