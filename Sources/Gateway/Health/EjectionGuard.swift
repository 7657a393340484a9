/// Keeps the share of an upstream's nodes that are out of service at or below `max_ejection_percent`.
///
/// A node counts as ejected from the moment its machine takes it out of service (unhealthy, open or
/// half-open) until it is available again. As in Envoy, at least one node may always be ejected
/// (unless the percentage is 0), so a one-node upstream can still fail fast.
package struct EjectionGuard: Sendable, Equatable {
    package let nodeCount: Int
    /// Nodes that may be out of service at once.
    package let limit: Int
    private var ejected: [Bool]
    package private(set) var ejectedCount = 0

    package init(nodeCount: Int, maxEjectionPercent: Int) {
        self.nodeCount = nodeCount
        limit = maxEjectionPercent == 0 ? 0 : max(1, nodeCount * maxEjectionPercent / 100)
        ejected = Array(repeating: false, count: nodeCount)
    }

    /// Takes `node` out of service if the cap allows; true when it is (or already was) ejected.
    package mutating func eject(_ node: Int) -> Bool {
        if ejected[node] { return true }
        guard ejectedCount < limit else { return false }
        ejected[node] = true
        ejectedCount += 1
        return true
    }

    /// Returns `node` to service.
    package mutating func restore(_ node: Int) {
        guard ejected[node] else { return }
        ejected[node] = false
        ejectedCount -= 1
    }

    package func isEjected(_ node: Int) -> Bool { ejected[node] }
}
