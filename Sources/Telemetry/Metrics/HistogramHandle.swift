import Synchronization

/// One histogram series, resolved ahead of time. Copy it freely; it holds no references.
///
/// Recording through a writer is single-writer: a sequence number is made odd, the count, sum,
/// classic and native buckets (and the exemplar) are updated with relaxed loads and stores, and the
/// sequence number is made even again, so a scrape reads each shard consistently.
///
/// Valid as long as its registry is alive: it points at the family's layout and the registry's slots.
public struct HistogramHandle: @unchecked Sendable {  // pointers to immutable layout and atomic slots
    package let cells: SeriesCells
    package let overflow: SeriesCells?
    package let layout: UnsafeMutablePointer<HistogramLayout>
    /// Unmanaged so copying or using a handle on a worker causes no reference counting; the family keeps it alive.
    package let sharedWriters: Unmanaged<SharedWriterLock>

    /// Records `value` on the writer's own shard. No lock, no read-modify-write, no allocation.
    @inline(__always)
    public func observe(_ value: Double, on writer: borrowing MetricWriter) {
        let block = self.cells.block(writer.shardIndex)
        let sequence = Self.begin(block)
        _ = Self.record(value, block, self.layout)
        Self.end(block, sequence)
        if let overflow = self.overflow {
            overflow.block(writer.shardIndex).addOwned(0, 1)
        }
    }

    /// Records `value` with an exemplar label value (for example a request id, up to 64 UTF-8 bytes;
    /// longer values are cut). The bucket keeps the most recent exemplar. No allocation, but the
    /// string may be retained and released; prefer the ``ExemplarLabel`` overload on a worker.
    @inline(__always)
    public func observe(_ value: Double, exemplar: String, on writer: borrowing MetricWriter) {
        let block = self.cells.block(writer.shardIndex)
        let sequence = Self.begin(block)
        let bucket = Self.record(value, block, self.layout)
        Self.writeExemplar(exemplar, value: value, bucket: bucket, block, self.layout)
        Self.end(block, sequence)
        if let overflow = self.overflow {
            overflow.block(writer.shardIndex).addOwned(0, 1)
        }
    }

    /// Records `value` with a prepared exemplar label (and its trace id, if any): no allocation and
    /// no reference counting.
    @inline(__always)
    public func observe(_ value: Double, exemplar: borrowing ExemplarLabel, on writer: borrowing MetricWriter) {
        let block = self.cells.block(writer.shardIndex)
        let sequence = Self.begin(block)
        let bucket = Self.record(value, block, self.layout)
        if self.layout.pointee.exemplarBase >= 0 {
            let base = block + self.layout.pointee.exemplarBase + bucket * HistogramLayout.exemplarSlots
            let words = exemplar.words
            base.store(0, words.0)
            base.store(1, words.1)
            base.store(2, words.2)
            base.store(3, words.3)
            base.store(4, words.4)
            base.store(5, words.5)
            base.store(6, words.6)
            base.store(7, words.7)
            base.store(8, UInt64(exemplar.count))
            base.store(9, value.bitPattern)
            base.store(10, WallClock.coarseNow().bitPattern)
            base.store(11, exemplar.traceIDHigh)
            base.store(12, exemplar.traceIDLow)
        }
        Self.end(block, sequence)
        if let overflow = self.overflow {
            overflow.block(writer.shardIndex).addOwned(0, 1)
        }
    }

    /// Records `value` from any thread through the shared shard (takes a lock).
    public func observe(_ value: Double) {
        let block = self.cells.block(self.cells.sharedShard)
        self.sharedWriters.takeUnretainedValue().withLock {
            let sequence = Self.begin(block)
            _ = Self.record(value, block, self.layout)
            Self.end(block, sequence)
        }
        if let overflow = self.overflow {
            overflow.block(overflow.sharedShard).addShared(0, 1)
        }
    }

    /// Records `value` with an exemplar from any thread through the shared shard (takes a lock).
    public func observe(_ value: Double, exemplar: String) {
        let block = self.cells.block(self.cells.sharedShard)
        self.sharedWriters.takeUnretainedValue().withLock {
            let sequence = Self.begin(block)
            let bucket = Self.record(value, block, self.layout)
            Self.writeExemplar(exemplar, value: value, bucket: bucket, block, self.layout)
            Self.end(block, sequence)
        }
        if let overflow = self.overflow {
            overflow.block(overflow.sharedShard).addShared(0, 1)
        }
    }

    @inline(__always)
    private static func begin(_ block: UnsafeMutablePointer<Slot>) -> UInt64 {
        let sequence = block.load(HistogramLayout.sequence)
        block.store(HistogramLayout.sequence, sequence &+ 1)
        // Orders the odd sequence number before the data stores that follow (seqlock writer).
        atomicMemoryFence(ordering: .releasing)
        return sequence
    }

    @inline(__always)
    private static func end(_ block: UnsafeMutablePointer<Slot>, _ sequence: UInt64) {
        (block + HistogramLayout.sequence).pointee.store(sequence &+ 2, ordering: .releasing)
    }

    /// Updates count, sum, classic and native buckets; returns the classic bucket index.
    @inline(__always)
    private static func record(
        _ value: Double,
        _ block: UnsafeMutablePointer<Slot>,
        _ layout: UnsafeMutablePointer<HistogramLayout>
    ) -> Int {
        block.addOwned(HistogramLayout.count, 1)
        block.addOwnedDouble(HistogramLayout.sum, value)
        let bucket = layout.pointee.classicIndex(value)
        block.addOwned(HistogramLayout.classic + bucket, 1)
        if layout.pointee.nativeBase >= 0 {
            NativeBuckets.observe(value, block + layout.pointee.nativeBase, layout)
        }
        return bucket
    }

    @inline(__always)
    private static func writeExemplar(
        _ label: String,
        value: Double,
        bucket: Int,
        _ block: UnsafeMutablePointer<Slot>,
        _ layout: UnsafeMutablePointer<HistogramLayout>
    ) {
        guard layout.pointee.exemplarBase >= 0 else { return }
        let base = block + layout.pointee.exemplarBase + bucket * HistogramLayout.exemplarSlots
        let written: Int? = label.utf8.withContiguousStorageIfAvailable { bytes in
            Self.packExemplar(UnsafeRawBufferPointer(bytes), base)
        }
        if written == nil {
            // Only non-native strings land here; copy through a fixed stack buffer.
            var packed: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
            let count = withUnsafeMutableBytes(of: &packed) { raw in
                var count = 0
                for byte in label.utf8.prefix(HistogramLayout.exemplarBytes) {
                    raw[count] = byte
                    count += 1
                }
                return count
            }
            withUnsafeBytes(of: &packed) { raw in
                _ = Self.packExemplar(UnsafeRawBufferPointer(rebasing: raw[0..<count]), base)
            }
        }
        base.store(9, value.bitPattern)
        base.store(10, WallClock.coarseNow().bitPattern)
        // A string exemplar has no trace: clear the words a previous exemplar in this bucket left.
        base.store(11, 0)
        base.store(12, 0)
    }

    @inline(__always)
    private static func packExemplar(_ bytes: UnsafeRawBufferPointer, _ base: UnsafeMutablePointer<Slot>) -> Int {
        let count = min(bytes.count, HistogramLayout.exemplarBytes)
        var word = 0
        while word * 8 < count {
            var packed: UInt64 = 0
            let end = min(count, word * 8 + 8)
            var index = word * 8
            while index < end {
                packed |= UInt64(bytes[index]) << (UInt64(index - word * 8) * 8)
                index += 1
            }
            base.store(word, packed)
            word += 1
        }
        base.store(8, UInt64(count))
        return count
    }
}
