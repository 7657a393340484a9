/// A fixed-capacity byte buffer the logging thread formats lines into with unchecked appends.
///
/// The owner sizes it so that a whole line always fits (``LineFormatter/maximumLineLength`` beyond
/// the point where it empties the buffer), so the appends themselves do no bounds checks and never
/// allocate. Some appends store a whole 8- or 32-byte chunk and then advance by fewer bytes: the
/// line budget includes ``overwriteSlack`` for them. Thread-confined to the logging thread.
struct LineBuffer: ~Copyable {
    /// Bytes past the end of the data that chunked appends may overwrite.
    static let overwriteSlack = 64

    let base: UnsafeMutablePointer<UInt8>
    let capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        self.base = .allocate(capacity: capacity)
    }

    deinit {
        self.base.deallocate()
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: self.base, count: self.count) }

    /// Where the next byte goes.
    @inline(__always)
    var end: UnsafeMutableRawPointer { UnsafeMutableRawPointer(self.base + self.count) }

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

    /// Appends the first `length` bytes of `chunk` with one unaligned 32-byte store.
    @inline(__always)
    mutating func append(_ chunk: SIMD32<UInt8>, length: Int) {
        self.end.storeBytes(of: chunk, as: SIMD32<UInt8>.self)
        self.count &+= length
    }

    /// Appends `value` in decimal, two digits per step.
    @inline(__always)
    mutating func appendDecimal(_ value: UInt64) {
        let digits = decimalDigitCount(value)
        self.writeDigits(value, width: digits)
        self.count &+= digits
    }

    /// Appends `value` zero-padded to `width` digits (value must fit).
    @inline(__always)
    mutating func appendPadded(_ value: Int, width: Int) {
        self.writeDigits(UInt64(truncatingIfNeeded: value), width: width)
        self.count &+= width
    }

    /// Writes the low `width` decimal digits of `value` at the end, right-aligned, without advancing.
    @inline(__always)
    private func writeDigits(_ value: UInt64, width: Int) {
        var remaining = value
        var index = self.count &+ width
        let pairs = digitPairs.utf8Start
        while index &- self.count >= 2 {
            let pair = Int(truncatingIfNeeded: remaining % 100) &* 2
            remaining /= 100
            index &-= 2
            self.base[index] = pairs[pair]
            self.base[index &+ 1] = pairs[pair &+ 1]
        }
        if index > self.count {
            self.base[self.count] = UInt8(truncatingIfNeeded: remaining % 10) &+ 48
        }
    }

    /// Appends a 128-bit trace id as 32 lowercase hex digits (W3C `trace-id`), high word first.
    @inline(__always)
    mutating func appendTraceID(high: UInt64, low: UInt64) {
        self.appendHex(high)
        self.appendHex(low)
    }

    /// Appends `value` as 16 lowercase hex digits, zero-padded.
    @inline(__always)
    private mutating func appendHex(_ value: UInt64) {
        let digits = lowercaseHexDigits.utf8Start
        var index = 0
        while index < 16 {
            self.base[self.count &+ index] = digits[Int(truncatingIfNeeded: (value >> UInt64(60 - index * 4)) & 0xF)]
            index &+= 1
        }
        self.count &+= 16
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

/// "00" through "99", for writing two digits per division.
let digitPairs: StaticString =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

/// Lowercase hex digits, indexed by value.
let lowercaseHexDigits: StaticString = "0123456789abcdef"

/// How many decimal digits `value` has (1 for 0).
@inline(__always)
func decimalDigitCount(_ value: UInt64) -> Int {
    var digits = 1
    var limit: UInt64 = 10
    while value >= limit {
        digits &+= 1
        if digits == 20 { break }
        limit &*= 10
    }
    return digits
}
