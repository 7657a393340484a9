/// Envoy's panic threshold: when too few of an upstream's nodes are available, sending everything
/// to the few (or none) left turns a blip into an outage, so the balancer spreads over all nodes.
package enum PanicThreshold {
    /// Whether `available` of `total` nodes is under `threshold` percent (0 never panics).
    package static func isPanic(available: Int, total: Int, threshold: Int) -> Bool {
        threshold > 0 && total > 0 && available * 100 < threshold * total
    }
}
