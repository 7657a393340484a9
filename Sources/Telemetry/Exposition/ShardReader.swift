import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads series from every shard and merges them. Runs on the scraping thread only.
package struct ShardReader {
    private var scratch: [UInt64] = []

    package init() {}

    package func readCounter(_ cells: SeriesCells) -> SeriesValue {
        var integer: UInt64 = 0
        var fraction = 0.0
        for shard in 0..<cells.shardCount {
            let block = cells.block(shard)
            integer &+= block.load(0)
            fraction += Double(bitPattern: block.load(1))
        }
        return .counter(integer: integer, fraction: fraction)
    }

    package func readGauge(_ cells: SeriesCells) -> SeriesValue {
        var total = 0.0
        for shard in 0..<cells.shardCount {
            total += Double(bitPattern: cells.block(shard).load(0))
        }
        return .gauge(total)
    }

    /// Copies one shard's block under its sequence number: retried until no write overlapped.
    private mutating func copyConsistent(_ block: UnsafeMutablePointer<Slot>, slots: Int) {
        if self.scratch.count < slots {
            self.scratch = [UInt64](repeating: 0, count: slots)
        }
        var attempts = 0
        while true {
            let before = (block + HistogramLayout.sequence).pointee.load(ordering: .acquiring)
            if before & 1 == 0 {
                self.scratch.withUnsafeMutableBufferPointer { copy in
                    for index in 1..<slots {
                        copy[index] = block.load(index)
                    }
                }
                atomicMemoryFence(ordering: .acquiring)
                if block.load(HistogramLayout.sequence) == before {
                    return
                }
            }
            attempts += 1
            if attempts & 63 == 0 {
                sched_yield()
            }
        }
    }

    package mutating func readHistogram(
        _ cells: SeriesCells,
        layout: HistogramLayout,
        bounds: [Double]
    ) -> HistogramSnapshot {
        var count: UInt64 = 0
        var sum = 0.0
        var buckets = [UInt64](repeating: 0, count: layout.boundCount + 1)
        var exemplars = [ExemplarSnapshot?](repeating: nil, count: layout.boundCount + 1)
        var nativeParts: [(reduction: Int, zero: UInt64, positive: [(Int, UInt64)], negative: [(Int, UInt64)])] = []
        for shard in 0..<cells.shardCount {
            let block = cells.block(shard)
            // Untouched shards have sequence 0 and all-zero slots: skip the copy.
            if block.load(HistogramLayout.sequence) == 0 { continue }
            self.copyConsistent(block, slots: layout.slots)
            count &+= self.scratch[HistogramLayout.count]
            sum += Double(bitPattern: self.scratch[HistogramLayout.sum])
            for index in 0...layout.boundCount {
                buckets[index] &+= self.scratch[HistogramLayout.classic + index]
            }
            if layout.exemplarBase >= 0 {
                for index in 0...layout.boundCount {
                    guard let exemplar = self.exemplar(at: layout.exemplarBase + index * HistogramLayout.exemplarSlots)
                    else { continue }
                    if exemplars[index] == nil || exemplars[index]!.timestamp < exemplar.timestamp {
                        exemplars[index] = exemplar
                    }
                }
            }
            if layout.nativeBase >= 0 {
                nativeParts.append(self.nativePart(layout))
            }
        }
        var cumulative = buckets
        for index in 1..<cumulative.count {
            cumulative[index] &+= cumulative[index - 1]
        }
        var native: NativeHistogramSnapshot?
        if layout.nativeBase >= 0 {
            native = Self.mergeNative(nativeParts, layout: layout)
        }
        return HistogramSnapshot(
            count: count,
            sum: sum,
            bounds: bounds,
            cumulative: cumulative,
            exemplars: exemplars,
            native: native
        )
    }

    private func exemplar(at base: Int) -> ExemplarSnapshot? {
        let length = Int(self.scratch[base + 8])
        let timestamp = Double(bitPattern: self.scratch[base + 10])
        guard timestamp > 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: length)
        for index in 0..<length {
            bytes[index] = UInt8(truncatingIfNeeded: self.scratch[base + index / 8] >> (UInt64(index % 8) * 8))
        }
        return ExemplarSnapshot(
            labelValue: String(decoding: bytes, as: UTF8.self),
            value: Double(bitPattern: self.scratch[base + 9]),
            timestamp: timestamp,
            traceID: ExemplarSnapshot.traceIDText(high: self.scratch[base + 11], low: self.scratch[base + 12])
        )
    }

    private func nativePart(
        _ layout: HistogramLayout
    ) -> (reduction: Int, zero: UInt64, positive: [(Int, UInt64)], negative: [(Int, UInt64)]) {
        let base = layout.nativeBase
        var signs: [[(Int, UInt64)]] = [[], []]
        for sign in 0..<2 {
            let header = base + 2 + 3 * sign
            guard self.scratch[header + 2] != 0 else { continue }
            let low = Int(Int64(bitPattern: self.scratch[header]))
            let high = Int(Int64(bitPattern: self.scratch[header + 1]))
            let counts = base + HistogramLayout.nativeHeader + sign * layout.nativeCapacity
            for index in 0...(high - low) where self.scratch[counts + index] != 0 {
                signs[sign].append((low + index, self.scratch[counts + index]))
            }
        }
        return (
            Int(self.scratch[base + HistogramLayout.nativeReduction]),
            self.scratch[base + HistogramLayout.nativeZero], signs[0], signs[1]
        )
    }

    private static func mergeNative(
        _ parts: [(reduction: Int, zero: UInt64, positive: [(Int, UInt64)], negative: [(Int, UInt64)])],
        layout: HistogramLayout
    ) -> NativeHistogramSnapshot {
        let reduction = parts.map(\.reduction).max() ?? 0
        var zero: UInt64 = 0
        var positive: [(key: Int, count: UInt64)] = []
        var negative: [(key: Int, count: UInt64)] = []
        for part in parts {
            zero &+= part.zero
            let shift = reduction - part.reduction
            positive = Self.mergeSorted(positive, Self.coarsen(part.positive, shift))
            negative = Self.mergeSorted(negative, Self.coarsen(part.negative, shift))
        }
        return NativeHistogramSnapshot(
            schema: layout.schema - reduction,
            zeroThreshold: layout.zeroThreshold,
            zeroCount: zero,
            positive: positive,
            negative: negative
        )
    }

    /// Re-keys sorted buckets at a coarser schema; the mapping is monotonic, so neighbours coalesce.
    private static func coarsen(_ buckets: [(Int, UInt64)], _ shift: Int) -> [(key: Int, count: UInt64)] {
        var result: [(key: Int, count: UInt64)] = []
        result.reserveCapacity(buckets.count)
        for (key, count) in buckets {
            let coarse = shiftKeyCeiling(key, shift)
            if let last = result.last, last.key == coarse {
                result[result.count - 1].count &+= count
            } else {
                result.append((coarse, count))
            }
        }
        return result
    }

    private static func mergeSorted(
        _ left: [(key: Int, count: UInt64)],
        _ right: [(key: Int, count: UInt64)]
    ) -> [(key: Int, count: UInt64)] {
        if left.isEmpty { return right }
        if right.isEmpty { return left }
        var result: [(key: Int, count: UInt64)] = []
        result.reserveCapacity(left.count + right.count)
        var leftIndex = 0
        var rightIndex = 0
        while leftIndex < left.count || rightIndex < right.count {
            if rightIndex == right.count || (leftIndex < left.count && left[leftIndex].key < right[rightIndex].key) {
                result.append(left[leftIndex])
                leftIndex += 1
            } else if leftIndex == left.count || right[rightIndex].key < left[leftIndex].key {
                result.append(right[rightIndex])
                rightIndex += 1
            } else {
                result.append((left[leftIndex].key, left[leftIndex].count &+ right[rightIndex].count))
                leftIndex += 1
                rightIndex += 1
            }
        }
        return result
    }
}
