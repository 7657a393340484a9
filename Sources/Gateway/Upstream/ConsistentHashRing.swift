/// A consistent-hash ring with virtual nodes (ketama style) for sticky balancing on a header, cookie
/// or client address.
///
/// Each node owns `weight × virtualNodesPerWeightUnit` points on a 64-bit circle; a key belongs to the
/// first point at or after its hash. A node's points depend only on its identity, so removing or adding
/// one of N nodes remaps only the ~1/N of keys that land on its points.
///
/// Built at config load (allocates), then immutable: workers share one instance and look keys up
/// through raw pointers without allocation, locks or reference counting.
// Immutable after init and only read through raw pointers, so sharing across workers is safe.
package final class ConsistentHashRing: @unchecked Sendable {
    /// Number of nodes the ring was built for (node indices are `0..<nodeCount`).
    package let nodeCount: Int
    /// Number of points on the ring.
    package let pointCount: Int
    /// Point hashes, sorted ascending.
    private let points: UnsafeMutablePointer<UInt64>
    /// Node index of each point, parallel to `points`.
    private let owners: UnsafeMutablePointer<Int32>
    /// Nodes that own at least one point, so a lookup can tell "all down" without walking the whole ring.
    private let ownsPoints: UnsafeMutablePointer<Bool>

    /// Builds a ring where node `i` is identified by its index.
    ///
    /// A node with weight 0 (or less) gets no points. To take a node out while keeping the others'
    /// keys in place, give it weight 0 at the same index, or use ``init(weights:identities:virtualNodesPerWeightUnit:)``
    /// with stable identities (indices shift when a node is deleted from the array).
    package convenience init(weights: [Int], virtualNodesPerWeightUnit: Int = 160) {
        self.init(
            weights: weights,
            identities: weights.indices.map { UInt64($0) },
            virtualNodesPerWeightUnit: virtualNodesPerWeightUnit
        )
    }

    /// Builds a ring where node `i` places its points by `identities[i]` (for example the hash of
    /// its `host:port`), so the ring is stable when nodes are added, removed or reordered in the config.
    package init(weights: [Int], identities: [UInt64], virtualNodesPerWeightUnit: Int = 160) {
        precondition(weights.count == identities.count, "one identity per node")
        precondition(weights.count <= Int(Int32.max), "too many nodes")
        let perUnit = max(virtualNodesPerWeightUnit, 1)
        var entries: [(hash: UInt64, node: Int32)] = []
        entries.reserveCapacity(weights.reduce(0) { $0 + max($1, 0) } * perUnit)
        for (node, weight) in weights.enumerated() where weight > 0 {
            for replica in 0..<(weight * perUnit) {
                let point = withUnsafeBytes(of: (identities[node].littleEndian, UInt64(replica).littleEndian)) {
                    Self.hash($0)
                }
                entries.append((point, Int32(node)))
            }
        }
        // Ties (astronomically rare) are ordered by node so the ring does not depend on input order.
        entries.sort { $0.hash != $1.hash ? $0.hash < $1.hash : $0.node < $1.node }

        nodeCount = weights.count
        pointCount = entries.count
        points = .allocate(capacity: max(entries.count, 1))
        owners = .allocate(capacity: max(entries.count, 1))
        ownsPoints = .allocate(capacity: max(weights.count, 1))
        ownsPoints.initialize(repeating: false, count: max(weights.count, 1))
        for (index, entry) in entries.enumerated() {
            (points + index).initialize(to: entry.hash)
            (owners + index).initialize(to: entry.node)
            ownsPoints[Int(entry.node)] = true
        }
    }

    deinit {
        points.deallocate()
        owners.deallocate()
        ownsPoints.deallocate()
    }

    /// Returns the node owning `keyHash`: the first available node clockwise from the key, or -1 when
    /// no node with points is available.
    ///
    /// Keys of an unavailable node spill onto the next nodes of the ring (spread over them, since its
    /// points are interleaved with everyone's), and come back when it is available again.
    @inline(__always)
    package func node(for keyHash: UInt64, isAvailable: (Int) -> Bool) -> Int {
        guard pointCount > 0 else { return -1 }
        // Lower bound: first point >= keyHash; past the last point wraps to the first.
        var low = 0
        var high = pointCount
        while low < high {
            let middle = low &+ (high &- low) >> 1
            if points[middle] < keyHash { low = middle &+ 1 } else { high = middle }
        }
        var index = low == pointCount ? 0 : low
        for step in 0..<pointCount {
            let node = Int(owners[index])
            if isAvailable(node) { return node }
            // After a short walk, check once whether anyone can answer, so "all down" costs O(nodes).
            if step == nodeCount && !anyAvailable(isAvailable) { return -1 }
            index &+= 1
            if index == pointCount { index = 0 }
        }
        return -1
    }

    private func anyAvailable(_ isAvailable: (Int) -> Bool) -> Bool {
        for node in 0..<nodeCount where ownsPoints[node] && isAvailable(node) { return true }
        return false
    }
}
