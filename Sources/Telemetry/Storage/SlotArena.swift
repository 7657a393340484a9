import Synchronization

#if canImport(Glibc)
import Glibc
#endif

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
        // Fresh anonymous pages, not initialized slot by slot: a zero bit pattern is a zero Atomic<UInt64>,
        // and untouched pages are not resident, so a shard costs memory only for the cache lines its writer
        // actually touches (hundreds of shards may be reserved, few used).
        let raw = mmap(
            nil,
            slots * MemoryLayout<Slot>.stride,
            PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS,
            -1,
            0
        )
        guard let raw, raw != MAP_FAILED else { fatalError("cannot map \(slots) metric slots") }
        return raw.bindMemory(to: Slot.self, capacity: slots)
    }

    deinit {
        for (chunk, size) in self.chunks {
            munmap(UnsafeMutableRawPointer(chunk), size * MemoryLayout<Slot>.stride)
        }
    }
}
