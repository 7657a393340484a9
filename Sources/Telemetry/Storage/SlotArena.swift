import Synchronization

/// One 64-bit metric cell. Writers store into it; the scraping thread loads from it.
package typealias Slot = Atomic<UInt64>

/// Bump allocator of cache-line-aligned slot blocks for one shard.
///
/// Every shard has its own arena, so blocks written by different threads never share a cache line.
/// Blocks live as long as the registry. Only called under the registry's lock.
package final class SlotArena {
    package static let slotsPerLine = 8
    private static let chunkSlots = 1 << 16

    private var chunks: [(UnsafeMutablePointer<Slot>, Int)] = []
    private var next: UnsafeMutablePointer<Slot>?
    private var remaining = 0

    package init() {}

    /// Returns `count` zeroed slots, rounded up to whole cache lines and aligned to one.
    package func allocate(_ count: Int) -> UnsafeMutablePointer<Slot> {
        let lines = (max(count, 1) + Self.slotsPerLine - 1) / Self.slotsPerLine
        let rounded = lines * Self.slotsPerLine
        if rounded > self.remaining {
            let size = max(rounded, Self.chunkSlots)
            let chunk = Self.makeChunk(size)
            self.chunks.append((chunk, size))
            if rounded >= Self.chunkSlots {
                return chunk
            }
            self.next = chunk
            self.remaining = size
        }
        let block = self.next!
        self.next = block + rounded
        self.remaining -= rounded
        return block
    }

    private static func makeChunk(_ slots: Int) -> UnsafeMutablePointer<Slot> {
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: slots * MemoryLayout<Slot>.stride,
            alignment: 64
        )
        let typed = raw.bindMemory(to: Slot.self, capacity: slots)
        for index in 0..<slots {
            (typed + index).initialize(to: Slot(0))
        }
        return typed
    }

    deinit {
        for (chunk, size) in self.chunks {
            chunk.deinitialize(count: size)
            UnsafeMutableRawPointer(chunk).deallocate()
        }
    }
}
