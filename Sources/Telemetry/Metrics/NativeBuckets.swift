/// The writer side of native buckets: a window of counts per sign, starting at the lowest used key.
///
/// Area layout (relative to the native base): reduction, zero count, then lo/hi/used for the
/// positive (2...4) and negative (5...7) sign, then `capacity` counts per sign.
package enum NativeBuckets {
    @inline(__always)
    package static func observe(
        _ value: Double,
        _ area: UnsafeMutablePointer<Slot>,
        _ layout: UnsafeMutablePointer<HistogramLayout>
    ) {
        let magnitude = value.magnitude
        if magnitude <= layout.pointee.zeroThreshold {
            area.addOwned(HistogramLayout.nativeZero, 1)
            return
        }
        // NaN and infinities have no native bucket; they still count in _count and _sum.
        guard magnitude.isFinite else { return }
        var reduction = Int(area.load(HistogramLayout.nativeReduction))
        var key = shiftKeyCeiling(layout.pointee.nativeKey(magnitude), layout.pointee.keyShift + reduction)
        let sign = value > 0 ? 0 : 1
        let capacity = layout.pointee.nativeCapacity
        while !Self.add(key, sign: sign, area, capacity: capacity) {
            if reduction >= layout.pointee.maxReduction {
                Self.addClamped(key, sign: sign, area, capacity: capacity)
                return
            }
            Self.halve(sign: 0, area, capacity: capacity)
            Self.halve(sign: 1, area, capacity: capacity)
            reduction += 1
            area.store(HistogramLayout.nativeReduction, UInt64(reduction))
            key = shiftKeyCeiling(key, 1)
        }
    }

    @inline(__always)
    private static func header(_ sign: Int) -> Int { 2 + 3 * sign }

    @inline(__always)
    private static func counts(
        _ sign: Int,
        _ area: UnsafeMutablePointer<Slot>,
        _ capacity: Int
    ) -> UnsafeMutablePointer<Slot> {
        area + HistogramLayout.nativeHeader + sign * capacity
    }

    /// Adds one to `key`'s bucket if the window can hold it (sliding down if needed).
    @inline(__always)
    private static func add(_ key: Int, sign: Int, _ area: UnsafeMutablePointer<Slot>, capacity: Int) -> Bool {
        let header = Self.header(sign)
        let counts = Self.counts(sign, area, capacity)
        if area.load(header + 2) == 0 {
            area.store(header, UInt64(bitPattern: Int64(key)))
            area.store(header + 1, UInt64(bitPattern: Int64(key)))
            area.store(header + 2, 1)
            counts.addOwned(0, 1)
            return true
        }
        let low = Int(Int64(bitPattern: area.load(header)))
        let high = Int(Int64(bitPattern: area.load(header + 1)))
        if key >= low {
            guard key - low < capacity else { return false }
            counts.addOwned(key - low, 1)
            if key > high {
                area.store(header + 1, UInt64(bitPattern: Int64(key)))
            }
            return true
        }
        guard high - key < capacity else { return false }
        let shift = low - key
        var index = high - low
        while index >= 0 {
            counts.store(index + shift, counts.load(index))
            index -= 1
        }
        for index in 0..<min(shift, high - low + 1) {
            counts.store(index, 0)
        }
        area.store(header, UInt64(bitPattern: Int64(key)))
        counts.addOwned(0, 1)
        return true
    }

    /// At the coarsest schema nothing can widen the window: count the value at its nearest edge.
    private static func addClamped(_ key: Int, sign: Int, _ area: UnsafeMutablePointer<Slot>, capacity: Int) {
        let header = Self.header(sign)
        let low = Int(Int64(bitPattern: area.load(header)))
        let high = Int(Int64(bitPattern: area.load(header + 1)))
        let counts = Self.counts(sign, area, capacity)
        if key < low {
            counts.addOwned(0, 1)
        } else {
            counts.addOwned(capacity - 1, 1)
            if low + capacity - 1 > high {
                area.store(header + 1, UInt64(bitPattern: Int64(low + capacity - 1)))
            }
        }
    }

    /// Halves the resolution of one sign in place: bucket k joins bucket ceil(k / 2).
    private static func halve(sign: Int, _ area: UnsafeMutablePointer<Slot>, capacity: Int) {
        let header = Self.header(sign)
        guard area.load(header + 2) != 0 else { return }
        let counts = Self.counts(sign, area, capacity)
        let low = Int(Int64(bitPattern: area.load(header)))
        let high = Int(Int64(bitPattern: area.load(header + 1)))
        let newLow = shiftKeyCeiling(low, 1)
        // Target indices never exceed source indices, so an ascending pass is safe in place.
        for index in 0...(high - low) {
            let count = counts.load(index)
            guard count != 0 else { continue }
            counts.store(index, 0)
            counts.addOwned(shiftKeyCeiling(low + index, 1) - newLow, count)
        }
        area.store(header, UInt64(bitPattern: Int64(newLow)))
        area.store(header + 1, UInt64(bitPattern: Int64(shiftKeyCeiling(high, 1))))
    }
}
