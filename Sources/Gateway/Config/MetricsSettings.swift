/// The `metrics:` section: what the workers record and how histograms are shaped.
package struct MetricsSettings: Sendable, Equatable {
    /// Record request metrics on the workers (`metrics.enabled`, default true). `/metrics` still serves
    /// process and build metrics when this is off.
    package var enabled: Bool = true
    /// Add the upstream node address as a label where a series is per node (`metrics.node_labels`,
    /// default true). Turn off when node addresses churn (autoscaled upstreams) to bound cardinality.
    package var nodeLabels: Bool = true
    /// Also keep native (exponential) histograms next to the classic buckets (`metrics.native_histograms`).
    package var nativeHistograms: Bool = true
    /// Classic bucket upper bounds per family name (`metrics.buckets.<family>`).
    package var buckets: [String: [Double]] = [:]
    /// Series limit per family before observations go to the overflow series (`metrics.max_series`).
    package var maxSeries: Int = 10_000

    package init() {}
}
