/// nginx's smooth weighted round-robin: over any window of `sum(weights)` picks, each node is chosen
/// exactly `weight` times, interleaved rather than in bursts (weights 5,1,1 give a a b a c a a).
package enum SmoothWeightedRoundRobin {
    /// Picks one of `count` nodes; `current` holds per-node running weights (start them at 0).
    /// Nodes with weight 0 are skipped; returns -1 when every weight is 0.
    @inline(__always)
    package static func pick(count: Int, current: UnsafeMutablePointer<Int64>, weight: (Int) -> Int64) -> Int {
        pick(count: count, current: current, weight: weight, isAvailable: { _ in true })
    }

    /// Picks one of `count` nodes, skipping those for which `isAvailable` is false.
    ///
    /// An unavailable node's running weight is left untouched, as nginx does for a down peer, so the
    /// available nodes keep their smooth interleaving among themselves and the node rejoins where it left.
    /// Returns -1 when no available node has a positive weight.
    @inline(__always)
    package static func pick(
        count: Int,
        current: UnsafeMutablePointer<Int64>,
        weight: (Int) -> Int64,
        isAvailable: (Int) -> Bool
    ) -> Int {
        var best = -1
        var total: Int64 = 0
        for node in 0..<count {
            let nodeWeight = weight(node)
            guard nodeWeight > 0, isAvailable(node) else { continue }
            current[node] &+= nodeWeight
            total &+= nodeWeight
            if best < 0 || current[node] > current[best] { best = node }
        }
        if best >= 0 { current[best] &-= total }
        return best
    }
}
