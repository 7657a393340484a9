import Synchronization

/// The shards of a registry: one arena per worker writer plus one shared arena.
package final class ShardSpace: Sendable {
    /// Worker shards; the shared shard has index `writerCapacity`.
    package let writerCapacity: Int
    package var shardCount: Int { self.writerCapacity + 1 }
    private let arenas: Mutex<[SlotArena]>
    /// Wall clock for series creation times; tests pass a fixed one.
    package let clock: @Sendable () -> Double

    package init(writerCapacity: Int, clock: @escaping @Sendable () -> Double = { WallClock.now() }) {
        self.writerCapacity = writerCapacity
        self.clock = clock
        self.arenas = Mutex((0...writerCapacity).map { _ in SlotArena() })
    }

    /// Allocates one block of `slots` in every shard.
    package func makeCells(slots: Int) -> SeriesCells {
        self.arenas.withLock { SeriesCells(arenas: $0, slots: slots) }
    }
}
