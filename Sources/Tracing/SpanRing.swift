import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A bounded single-producer/single-consumer ring of ``SpanRecord`` slots owned by one worker thread.
///
/// The worker calls ``push(_:)`` or ``push(filling:)``; the exporter thread is the only reader. Enqueue
/// is wait-free and never allocates: it reads the consumer's index only when its cached copy says the ring
/// is full, writes the slot in place and publishes it with one release store (no read-modify-write).
/// When the ring is full the span is dropped and counted in ``dropped``. Same design as `AccessLogRing`.
public final class SpanRing: Sendable {
    /// Number of slots (a power of two).
    public let capacity: Int
    @usableFromInline let mask: Int
    // Slots are written by the producer before the release store of `tail` and read by the consumer
    // after its acquire load, so the raw memory is never accessed by both sides at once.
    @usableFromInline nonisolated(unsafe) let slots: UnsafeMutablePointer<SpanRecord>

    // Producer-owned; relaxed atomics compile to plain loads and stores (no read-modify-write).
    @usableFromInline let tail = Atomic<Int>(0)
    @usableFromInline let cachedHead = Atomic<Int>(0)
    @usableFromInline let droppedCount = Atomic<UInt64>(0)
    // Keeps the consumer's index off the producer's cache line.
    private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    // Consumer-owned.
    @usableFromInline let head = Atomic<Int>(0)

    /// A ring with room for at least `minimumCapacity` spans (rounded up to a power of two, at least 2).
    public init(minimumCapacity: Int) {
        var capacity = 2
        while capacity < minimumCapacity {
            capacity <<= 1
        }
        self.capacity = capacity
        self.mask = capacity - 1
        // Fresh anonymous pages: an all-zero SpanRecord is a valid (empty) record, and pages stay
        // non-resident until the ring first wraps over them, so an idle worker's ring costs nothing.
        let bytes = capacity * MemoryLayout<SpanRecord>.stride
        let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let raw, raw != MAP_FAILED else { fatalError("cannot map \(bytes) bytes for a span ring") }
        self.slots = raw.bindMemory(to: SpanRecord.self, capacity: capacity)
    }

    deinit {
        munmap(UnsafeMutableRawPointer(self.slots), self.capacity * MemoryLayout<SpanRecord>.stride)
    }

    /// Spans dropped because the ring was full (written by the producer, readable from any thread).
    public var dropped: UInt64 { self.droppedCount.load(ordering: .relaxed) }

    /// Spans waiting for the exporter (approximate when read off the two threads).
    public var count: Int { self.tail.load(ordering: .acquiring) &- self.head.load(ordering: .acquiring) }

    /// Enqueues a copy of `record`; returns false (and counts a drop) when the ring is full.
    @inlinable
    @discardableResult
    public func push(_ record: borrowing SpanRecord) -> Bool {
        guard let slot = self.reserve() else { return false }
        slot.pointee = copy record
        self.publish()
        return true
    }

    /// Fills the next free slot in place with `fill` (the slot is ``SpanRecord/reset()`` first) and
    /// enqueues it; returns false without calling `fill` (and counts a drop) when the ring is full.
    @inlinable
    @discardableResult
    public func push(filling fill: (inout SpanRecord) -> Void) -> Bool {
        guard let slot = self.reserve() else { return false }
        slot.pointee.reset()
        fill(&slot.pointee)
        self.publish()
        return true
    }

    @inlinable
    func reserve() -> UnsafeMutablePointer<SpanRecord>? {
        let tail = self.tail.load(ordering: .relaxed)
        if tail &- self.cachedHead.load(ordering: .relaxed) >= self.capacity {
            let head = self.head.load(ordering: .acquiring)
            self.cachedHead.store(head, ordering: .relaxed)
            if tail &- head >= self.capacity {
                self.droppedCount.store(self.droppedCount.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
                return nil
            }
        }
        return self.slots + (tail & self.mask)
    }

    @inlinable
    func publish() {
        self.tail.store(self.tail.load(ordering: .relaxed) &+ 1, ordering: .releasing)
    }

    /// Consumer side: calls `body` with up to `limit` waiting spans, oldest first, then frees their slots,
    /// and returns how many were consumed. Only one thread (the exporter's, for a ring registered with a
    /// ``SpanExporter``) may call this.
    @discardableResult
    public func drain(limit: Int = .max, _ body: (UnsafePointer<SpanRecord>) -> Void) -> Int {
        let head = self.head.load(ordering: .relaxed)
        let tail = self.tail.load(ordering: .acquiring)
        let count = min(tail &- head, limit)
        if count <= 0 { return 0 }
        for offset in 0..<count {
            body(UnsafePointer(self.slots + ((head &+ offset) & self.mask)))
        }
        self.head.store(head &+ count, ordering: .releasing)
        return count
    }
}
