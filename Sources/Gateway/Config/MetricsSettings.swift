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
    /// Add a `consumer` label to `gateway_http_requests_total` (`metrics.consumer_label`, default
    /// false): the authenticated consumer's username for the first ``consumerLabelLimit`` consumers,
    /// `__other__` past them, empty without one.
    package var consumerLabel: Bool = false
    /// Time every plugin call into `gateway_plugin_duration_seconds{plugin, phase}`
    /// (`metrics.plugin_timing`, default false: two clock reads per plugin call).
    package var pluginTiming: Bool = false

    /// Consumers that get their own `consumer` label value; the rest share `__other__`.
    package static let consumerLabelLimit = 1000

    package init() {}
}
