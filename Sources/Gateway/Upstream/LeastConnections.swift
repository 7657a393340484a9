/// Weighted least-connections over one worker's in-flight counts (nginx's `least_conn`).
///
/// Each worker balances on its own counts: no shared counters, no atomics. Across N workers the
/// kernel's even spread of connections makes the per-worker choices add up to a global one.
package enum LeastConnections {
    /// Picks the available node with the lowest `active / weight`; -1 when none can take traffic.
    ///
    /// Nodes with weight 0 (or less) and unavailable nodes are skipped. Equal nodes are taken in turn:
    /// the scan starts at `cursor` and the first of the best wins, then `cursor` moves past it, so
    /// idle nodes share load instead of the first one taking everything.
    @inline(__always)
    package static func pick(
        count: Int,
        active: UnsafePointer<Int32>,
        weight: (Int) -> Int64,
        isAvailable: (Int) -> Bool,
        cursor: inout Int
    ) -> Int {
        guard count > 0 else { return -1 }
        var node = cursor >= 0 && cursor < count ? cursor : 0
        var best = -1
        var bestActive: Int64 = 0
        var bestWeight: Int64 = 1
        for _ in 0..<count {
            let nodeWeight = weight(node)
            if nodeWeight > 0 && isAvailable(node) {
                let nodeActive = Int64(max(active[node], 0))
                // active/weight < bestActive/bestWeight, cross-multiplied in 128 bits: exact, no overflow.
                if best < 0 || Int128(nodeActive) * Int128(bestWeight) < Int128(bestActive) * Int128(nodeWeight) {
                    best = node
                    bestActive = nodeActive
                    bestWeight = nodeWeight
                }
            }
            node &+= 1
            if node == count { node = 0 }
        }
        if best >= 0 { cursor = best &+ 1 == count ? 0 : best &+ 1 }
        return best
    }
}
