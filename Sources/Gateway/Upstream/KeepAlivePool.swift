import Glibc

/// One worker's keep-alive pools: per node, a most-recently-parked-first list of idle upstream
/// connection slots.
///
/// Pure bookkeeping with intrusive links in arrays indexed by slot: parking, taking and removing are
/// O(1) and never allocate. Taking the most recent one reuses the connection least likely to have
/// been closed by the upstream's own idle timeout.
package struct KeepAlivePool: ~Copyable {
    private let nodeCount: Int
    private let slotCapacity: Int
    /// Per node: the most recently parked slot (-1: none), and how many are parked.
    private let heads: UnsafeMutablePointer<Int32>
    private let counts: UnsafeMutablePointer<Int32>
    /// Per slot: its neighbours in its node's list, and its node + 1 while parked (0 otherwise, so
    /// calloc'd pages of slots never pooled stay untouched).
    private let next: UnsafeMutablePointer<Int32>
    private let previous: UnsafeMutablePointer<Int32>
    private let nodeOf: UnsafeMutablePointer<Int32>

    package init(nodeCount: Int, slotCapacity: Int) {
        self.nodeCount = max(1, nodeCount)
        self.slotCapacity = max(1, slotCapacity)
        heads = zeroed(self.nodeCount)
        counts = zeroed(self.nodeCount)
        next = zeroed(self.slotCapacity)
        previous = zeroed(self.slotCapacity)
        nodeOf = zeroed(self.slotCapacity)
        for node in 0..<self.nodeCount { heads[node] = -1 }
    }

    deinit {
        free(heads)
        free(counts)
        free(next)
        free(previous)
        free(nodeOf)
    }

    /// Connections parked for `node`.
    @inline(__always)
    package func count(node: Int) -> Int { Int(counts[node]) }

    /// Whether `slot` is parked.
    @inline(__always)
    package func contains(slot: Int) -> Bool { nodeOf[slot] != 0 }

    /// Parks `slot` for `node`.
    package mutating func park(slot: Int, node: Int) {
        precondition(!contains(slot: slot), "slot \(slot) is already parked")
        let head = heads[node]
        next[slot] = head
        previous[slot] = -1
        if head >= 0 { previous[Int(head)] = Int32(slot) }
        heads[node] = Int32(slot)
        counts[node] += 1
        nodeOf[slot] = Int32(node) + 1
    }

    /// Takes the most recently parked slot of `node`, if any.
    package mutating func take(node: Int) -> Int? {
        let head = heads[node]
        guard head >= 0 else { return nil }
        remove(slot: Int(head))
        return Int(head)
    }

    /// Unparks `slot` (it closed or timed out); nothing happens if it is not parked.
    package mutating func remove(slot: Int) {
        let node = Int(nodeOf[slot]) - 1
        guard node >= 0 else { return }
        let before = previous[slot]
        let after = next[slot]
        if before >= 0 { next[Int(before)] = after } else { heads[node] = after }
        if after >= 0 { previous[Int(after)] = before }
        counts[node] -= 1
        nodeOf[slot] = 0
    }
}
