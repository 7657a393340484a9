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
    /// Upstream latency histograms (`gateway_upstream_request_duration_seconds`) by upstream, summed over
    /// routes: what an upstream's latency objective reads.
    package var upstreamLatency: [String: Latency]
    /// The bucket bounds of each latency family read, by family name, known once a family has a series:
    /// tells a threshold missing from the layout apart from no traffic yet.
    package var layouts: [String: [Double]]

    /// The metric families this reads.
    package static let requestsFamily = "gateway_http_requests_total"
    package static let durationFamily = "gateway_http_request_duration_seconds"
    package static let upstreamDurationFamily = "gateway_upstream_request_duration_seconds"

    /// A reading with nothing counted yet (the baseline before any traffic).
    package init(time: Double) {
        self.time = time
        self.requests = [:]
        self.latency = [:]
        self.upstreamLatency = [:]
        self.layouts = [:]
    }

    /// Reads the three families from `registry` without disturbing what `/metrics` shows.
    package static func read(from registry: MetricRegistry, at time: Double) -> TrafficSnapshot {
        var snapshot = TrafficSnapshot(time: time)
        for family in registry.read([requestsFamily, durationFamily, upstreamDurationFamily]) {
            if family.baseName == upstreamDurationFamily {
                snapshot.addUpstreamLatency(family)
                continue
            }
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
                    snapshot.layouts[family.baseName] = histogram.bounds
                case .gauge:
                    continue
                }
            }
        }
        return snapshot
    }

    /// Sums the upstream histogram's series (one per route and upstream) by upstream.
    private mutating func addUpstreamLatency(_ family: FamilySnapshot) {
        guard let upstreamIndex = family.labelNames.firstIndex(of: "upstream") else { return }
        for series in family.series {
            guard case .histogram(let histogram) = series.value else { continue }
            layouts[family.baseName] = histogram.bounds
            let upstream = series.labelValues[upstreamIndex]
            guard var sum = upstreamLatency[upstream], sum.bounds == histogram.bounds,
                sum.cumulative.count == histogram.cumulative.count
            else {
                upstreamLatency[upstream] = Latency(bounds: histogram.bounds, cumulative: histogram.cumulative)
                continue
            }
            for index in sum.cumulative.indices {
                sum.cumulative[index] += histogram.cumulative[index]
            }
            upstreamLatency[upstream] = sum
        }
    }
}
