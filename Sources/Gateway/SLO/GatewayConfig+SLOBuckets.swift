extension GatewayConfig {
    /// The histogram family a route's latency objective reads.
    package static let routeLatencyFamily = "gateway_http_request_duration_seconds"
    /// The histogram family an upstream's latency objective reads.
    package static let upstreamLatencyFamily = "gateway_upstream_request_duration_seconds"

    /// Every latency-objective threshold that reads `family`, ascending and without repeats.
    package func sloThresholds(for family: String) -> [Double] {
        var thresholds: [Double] = []
        switch family {
        case Self.routeLatencyFamily:
            thresholds = routes.compactMap { $0.slo?.latency?.threshold }
        case Self.upstreamLatencyFamily:
            thresholds = upstreams.compactMap { $0.slo?.latency?.threshold }
        default:
            break
        }
        return Array(Set(thresholds)).sorted()
    }

    /// The classic bucket bounds `family` is recorded with: `metrics.buckets.<family>` (or `fallback`) plus
    /// every latency-objective threshold on it, so the rules can read the `le` bucket at the threshold.
    package func bucketLayout(for family: String, fallback: [Double]) -> [Double] {
        let configured = metrics.buckets[family] ?? fallback
        return Array(Set(configured + sloThresholds(for: family))).sorted()
    }

    /// The thresholds of `family` that its configured (or default) layout lacks: the ones added.
    package func addedSLOBuckets(for family: String, fallback: [Double]) -> [Double] {
        let configured = Set(metrics.buckets[family] ?? fallback)
        return sloThresholds(for: family).filter { !configured.contains($0) }
    }
}
