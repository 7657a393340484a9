/// A latency-objective threshold that is not a bucket bound of the histogram layout the running process
/// records with: the `le` bucket the generated rules read does not exist until a restart.
///
/// Bucket layouts are fixed when the metric families are registered at start. A bound cannot be added
/// to a series that already holds observations without making up how many of them fell below it, and
/// series never reset, so a reload reports the gap (in `/status` `restart_required` and one log line)
/// rather than changing the layout.
package struct SLOBucketGap: Sendable, Equatable {
    /// The objective's key path, the owner named by id: `routes["api"].slo.latency.threshold`.
    package var key: String
    /// The threshold in seconds.
    package var threshold: Double
    /// The histogram family that lacks the bound.
    package var family: String

    package init(key: String, threshold: Double, family: String) {
        self.key = key
        self.threshold = threshold
        self.family = family
    }

    /// The one log line a reload writes for it.
    package var logLine: String {
        "\(key): \(threshold) s is not a bucket bound of \(family) in this process (layouts are fixed at start); "
            + "the rules' le=\"\(threshold)\" series appears after a restart"
    }

    /// The thresholds of `requested` that the layouts `running` was started with lack, routes first.
    package static func gaps(running: GatewayConfig, requested: GatewayConfig, fallback: [Double]) -> [SLOBucketGap] {
        let routeLayout = Set(running.bucketLayout(for: GatewayConfig.routeLatencyFamily, fallback: fallback))
        let upstreamLayout = Set(running.bucketLayout(for: GatewayConfig.upstreamLatencyFamily, fallback: fallback))
        var gaps: [SLOBucketGap] = []
        for route in requested.routes {
            guard let threshold = route.slo?.latency?.threshold, !routeLayout.contains(threshold) else { continue }
            gaps.append(
                SLOBucketGap(
                    key: "routes[\"\(route.id)\"].slo.latency.threshold",
                    threshold: threshold,
                    family: GatewayConfig.routeLatencyFamily
                )
            )
        }
        for upstream in requested.upstreams {
            guard let threshold = upstream.slo?.latency?.threshold, !upstreamLayout.contains(threshold) else {
                continue
            }
            gaps.append(
                SLOBucketGap(
                    key: "upstreams[\"\(upstream.id)\"].slo.latency.threshold",
                    threshold: threshold,
                    family: GatewayConfig.upstreamLatencyFamily
                )
            )
        }
        return gaps
    }
}
