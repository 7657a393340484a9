/// Indices that stay put across reloads: a key (a route id, an upstream id, a node's upstream and
/// address) keeps its index for as long as it exists, so per-index state on the workers (metric
/// handles, balancer state, keep-alive pools, health) survives a reload without being remapped.
///
/// A removed key's index is retired: the plan keeps its last entry so requests in flight on it finish,
/// and the index is handed out again only after `quarantine` has passed (oldest first), when nothing
/// can still be using it. A value type, so a reload works on a copy and commits it only on success.
package struct StableIndexTable: Sendable {
    /// Indices never reach this; fixed for the process, since workers size their tables by it.
    package let capacity: Int
    private var indexOf: [String: Int32] = [:]
    /// Retired indices in retirement order, with when (the caller's clock) each was retired.
    private var retired: [(index: Int32, at: UInt64, key: String)] = []
    /// One past the highest index ever handed out.
    package private(set) var highWater: Int32 = 0

    package init(capacity: Int) {
        self.capacity = capacity
    }

    /// What ``assign(_:now:quarantine:)`` decided.
    package struct Assignment: Equatable, Sendable {
        /// The index of each key, in the order given.
        package var indices: [Int32] = []
        /// Indices given to a key that did not have one before (new, or reused after quarantine):
        /// state kept per index must start afresh.
        package var fresh: [Int32] = []
        /// Indices whose key is gone as of this assignment.
        package var retired: [Int32] = []
    }

    /// Gives every key of `keys` (unique) an index: its current one, else the one it had when it was
    /// retired, else a retired index older than `quarantine`, else a new one. Keys not in `keys` are retired. Nil when `keys` need more indices
    /// than ``capacity``.
    package mutating func assign(_ keys: [String], now: UInt64, quarantine: UInt64) -> Assignment? {
        var result = Assignment()
        let live = Set(keys)
        for (key, index) in indexOf where !live.contains(key) {
            indexOf[key] = nil
            retired.append((index, now, key))
            result.retired.append(index)
        }
        result.retired.sort()
        for key in keys {
            if let index = indexOf[key] {
                result.indices.append(index)
                continue
            }
            let index: Int32
            if let position = retired.firstIndex(where: { $0.key == key }) {
                // Back before its index went to another key: it gets the same one.
                index = retired.remove(at: position).index
            } else if let oldest = retired.first, now &- oldest.at >= quarantine {
                retired.removeFirst()
                index = oldest.index
            } else if Int(highWater) < capacity {
                index = highWater
                highWater += 1
            } else if let oldest = retired.first {
                // Out of room: reuse the oldest retired index even if something might still use it.
                retired.removeFirst()
                index = oldest.index
            } else {
                return nil
            }
            indexOf[key] = index
            result.indices.append(index)
            result.fresh.append(index)
        }
        return result
    }

    /// The index of `key`, if it is live.
    package func index(of key: String) -> Int32? { indexOf[key] }
}
