#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where each part of a histogram series lives inside its per-shard slot block, plus the
/// precomputed bounds the hot path searches. Immutable; allocated once per family, which frees it
/// (``free()``) when it goes away with its registry.
package struct HistogramLayout: @unchecked Sendable {  // immutable after init; pointers are never written again
    package static let sequence = 0
    package static let count = 1
    package static let sum = 2
    package static let classic = 3

    /// Native area: reduction, zero count, then per sign (lo, hi, used), then counts per sign.
    package static let nativeReduction = 0
    package static let nativeZero = 1
    package static let nativeHeader = 8

    /// Exemplar area per classic bucket: 8 slots of value bytes, its length, observed value, timestamp,
    /// then the trace id's high and low words (both 0: no trace).
    package static let exemplarBytes = 64
    package static let exemplarSlots = 13

    package let boundCount: Int
    package let bounds: UnsafeMutablePointer<Double>
    package let nativeBase: Int
    package let schema: Int
    package let keySchema: Int
    package let keyShift: Int
    package let maxReduction: Int
    package let nativeBounds: UnsafeMutablePointer<Double>
    package let nativeBoundCount: Int
    package let nativeCapacity: Int
    package let zeroThreshold: Double
    package let exemplarBase: Int
    package let slots: Int

    package init(bounds: [Double], native: NativeHistogramOptions?, exemplars: Bool) {
        self.boundCount = bounds.count
        self.bounds = .allocate(capacity: max(bounds.count, 1))
        self.bounds.initialize(from: bounds, count: bounds.count)
        var next = Self.classic + bounds.count + 1
        if let native {
            self.nativeBase = next
            self.schema = native.schema
            self.keySchema = max(native.schema, 0)
            self.keyShift = self.keySchema - native.schema
            self.maxReduction = native.schema + 4
            self.nativeCapacity = native.bucketLimit
            self.zeroThreshold = native.zeroThreshold
            next += Self.nativeHeader + 2 * native.bucketLimit
        } else {
            self.nativeBase = -1
            self.schema = 0
            self.keySchema = 0
            self.keyShift = 0
            self.maxReduction = 0
            self.nativeCapacity = 0
            self.zeroThreshold = 0
        }
        self.nativeBoundCount = 1 << self.keySchema
        self.nativeBounds = .allocate(capacity: self.nativeBoundCount)
        for index in 0..<self.nativeBoundCount {
            // Upper bounds of the buckets within one power of two, for significands in [1, 2).
            (self.nativeBounds + index).initialize(to: exp2(Double(index) / Double(self.nativeBoundCount)))
        }
        if exemplars {
            self.exemplarBase = next
            next += (bounds.count + 1) * Self.exemplarSlots
        } else {
            self.exemplarBase = -1
        }
        self.slots = next
    }

    /// Frees the bound tables. Call once, on the last copy, when nothing reads the layout any more
    /// (its ``HistogramFamily`` going away, or a layout made only to count slots).
    package func free() {
        self.bounds.deallocate()
        self.nativeBounds.deallocate()
    }

    /// Index of the classic bucket for `value`: the first bound that is >= value, or +Inf.
    @inline(__always)
    package func classicIndex(_ value: Double) -> Int {
        if self.boundCount <= 16 {
            var index = 0
            while index < self.boundCount && self.bounds[index] < value {
                index += 1
            }
            // NaN compares false everywhere; the loop would put it in the first bucket.
            return value.isNaN ? self.boundCount : index
        }
        var low = 0
        var high = self.boundCount
        while low < high {
            let middle = (low + high) / 2
            if self.bounds[middle] >= value { high = middle } else { low = middle + 1 }
        }
        return value.isNaN ? self.boundCount : low
    }

    /// The native bucket key of a finite, positive `magnitude` at `keySchema` (before any shift).
    @inline(__always)
    package func nativeKey(_ magnitude: Double) -> Int {
        let exponent = Int(magnitude.exponent)
        let significand = magnitude.significand
        if self.keySchema == 0 {
            return significand == 1 ? exponent : exponent + 1
        }
        var low = 0
        var high = self.nativeBoundCount
        while low < high {
            let middle = (low + high) / 2
            if self.nativeBounds[middle] >= significand { high = middle } else { low = middle + 1 }
        }
        return low + (exponent << self.keySchema)
    }
}

/// Divides by 2^shift rounding up (towards +infinity): the bucket key at a coarser schema.
@inline(__always)
package func shiftKeyCeiling(_ key: Int, _ shift: Int) -> Int {
    shift == 0 ? key : (key + (1 << shift) - 1) >> shift
}
