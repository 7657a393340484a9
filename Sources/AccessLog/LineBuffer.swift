/// A growable byte buffer the logging thread formats lines into with unchecked appends.
///
/// Callers reserve room for a whole line first (``reserve(_:)``), so the appends themselves do no
/// bounds checks and never allocate. Thread-confined to the logging thread.
struct LineBuffer: ~Copyable {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        self.base = .allocate(capacity: capacity)
    }

    deinit {
        self.base.deallocate()
    }

    var freeCapacity: Int { self.capacity - self.count }
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: self.base, count: self.count) }

    /// Grows (rarely) so that at least `needed` more bytes fit.
    mutating func reserve(_ needed: Int) {
        guard self.capacity - self.count < needed else { return }
        var newCapacity = self.capacity * 2
        while newCapacity - self.count < needed {
            newCapacity *= 2
        }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: self.base, count: self.count)
        self.base.deallocate()
        self.base = newBase
        self.capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        self.base[self.count] = byte
        self.count &+= 1
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        UnsafeMutableRawPointer(self.base + self.count).copyMemory(from: source, byteCount: bytes.count)
        self.count &+= bytes.count
    }

    @inline(__always)
    mutating func append(_ string: StaticString) {
        self.append(UnsafeRawBufferPointer(start: string.utf8Start, count: string.utf8CodeUnitCount))
    }

    @inline(__always)
    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { self.append($0) }
    }

    /// Appends `value` in decimal.
    @inline(__always)
    mutating func appendDecimal(_ value: UInt64) {
        if value < 10 {
            self.append(UInt8(truncatingIfNeeded: value) &+ 48)
            return
        }
        var digits = 0
        var probe = value
        while probe > 0 {
            digits &+= 1
            probe /= 10
        }
        var remaining = value
        var index = self.count &+ digits
        while remaining > 0 {
            index &-= 1
            self.base[index] = UInt8(truncatingIfNeeded: remaining % 10) &+ 48
            remaining /= 10
        }
        self.count &+= digits
    }

    /// Appends `value` zero-padded to `width` digits (value must fit).
    @inline(__always)
    mutating func appendPadded(_ value: Int, width: Int) {
        var remaining = value
        var index = self.count &+ width
        while index > self.count {
            index &-= 1
            self.base[index] = UInt8(truncatingIfNeeded: remaining % 10) &+ 48
            remaining /= 10
        }
        self.count &+= width
    }

    /// Appends nanoseconds as seconds with microsecond precision, e.g. `0.001234`; negatives as 0.
    @inline(__always)
    mutating func appendSeconds(nanoseconds: Int64) {
        let micros = nanoseconds > 0 ? UInt64(nanoseconds) / 1000 : 0
        self.appendDecimal(micros / 1_000_000)
        self.append(UInt8(ascii: "."))
        self.appendPadded(Int(micros % 1_000_000), width: 6)
    }
}
