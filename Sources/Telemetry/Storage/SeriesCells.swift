import Synchronization

/// The storage of one series: one slot block per shard, all with the same layout.
///
/// Index `0..<writerCount` are the workers' shards; the last one is the shared shard.
/// A plain pointer table so a handle can reach its block with two loads and no reference counting.
package struct SeriesCells: @unchecked Sendable {  // immutable after creation; the slots are atomics
    package let blocks: UnsafeMutablePointer<UnsafeMutablePointer<Slot>>
    package let shardCount: Int

    package init(arenas: [SlotArena], slots: Int) {
        self.shardCount = arenas.count
        self.blocks = .allocate(capacity: arenas.count)
        for (index, arena) in arenas.enumerated() {
            (self.blocks + index).initialize(to: arena.allocate(slots))
        }
    }

    @inline(__always)
    package func block(_ shard: Int) -> UnsafeMutablePointer<Slot> {
        self.blocks[shard]
    }

    package var sharedShard: Int { self.shardCount - 1 }

    /// Frees the pointer table (not the slots, which belong to the shard arenas). Called once, by the
    /// family holding the series when it goes away.
    package func free() {
        self.blocks.deallocate()
    }
}

extension UnsafeMutablePointer where Pointee == Slot {
    /// Single-writer add: a relaxed load and a relaxed store, no read-modify-write instruction.
    @inline(__always)
    package func addOwned(_ index: Int, _ amount: UInt64) {
        let slot = self + index
        slot.pointee.store(slot.pointee.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }

    /// Single-writer floating-point add on a slot holding `Double` bits.
    @inline(__always)
    package func addOwnedDouble(_ index: Int, _ amount: Double) {
        let slot = self + index
        let old = Double(bitPattern: slot.pointee.load(ordering: .relaxed))
        slot.pointee.store((old + amount).bitPattern, ordering: .relaxed)
    }

    /// Multi-writer add for the shared shard.
    @inline(__always)
    package func addShared(_ index: Int, _ amount: UInt64) {
        (self + index).pointee.wrappingAdd(amount, ordering: .relaxed)
    }

    /// Multi-writer floating-point add for the shared shard (compare-and-exchange loop).
    package func addSharedDouble(_ index: Int, _ amount: Double) {
        let slot = self + index
        var old = slot.pointee.load(ordering: .relaxed)
        while true {
            let new = (Double(bitPattern: old) + amount).bitPattern
            let (exchanged, original) = slot.pointee.compareExchange(
                expected: old,
                desired: new,
                ordering: .relaxed
            )
            if exchanged { return }
            old = original
        }
    }

    @inline(__always)
    package func load(_ index: Int) -> UInt64 {
        (self + index).pointee.load(ordering: .relaxed)
    }

    @inline(__always)
    package func store(_ index: Int, _ value: UInt64) {
        (self + index).pointee.store(value, ordering: .relaxed)
    }
}
