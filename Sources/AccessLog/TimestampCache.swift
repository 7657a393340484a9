/// Formats UTC timestamps for log lines, reusing the text while the millisecond (or second) does not
/// change: at high rates many lines share one.
struct TimestampCache {
    private var rfc3339Millisecond = Int64.min
    // "2025-01-02T03:04:05.678Z" — 24 bytes, in a 32-byte chunk stored with one write.
    private var rfc3339Text = SIMD32<UInt8>(repeating: 0)
    private var nginxSecond = Int64.min
    // "02/Jan/2025:03:04:05 +0000" — 26 bytes
    private var nginxText: InlineArray<26, UInt8> = InlineArray(repeating: 0)

    /// Appends RFC 3339 UTC with milliseconds, e.g. `2025-01-02T03:04:05.678Z`.
    @inline(__always)
    mutating func appendRFC3339(nanoseconds: Int64, to buffer: inout LineBuffer) {
        let millisecond = floorDivide(nanoseconds, 1_000_000)
        if millisecond != self.rfc3339Millisecond { self.renderRFC3339(millisecond: millisecond) }
        buffer.append(self.rfc3339Text, length: 24)
    }

    private mutating func renderRFC3339(millisecond: Int64) {
        let seconds = floorDivide(millisecond, 1000)
        let sameSecond = floorDivide(self.rfc3339Millisecond, 1000) == seconds
        self.rfc3339Millisecond = millisecond
        let fraction = Int(millisecond - seconds * 1000)
        withUnsafeMutableBytes(of: &self.rfc3339Text) { raw in
            var writer = FixedWriter(raw)
            if sameSecond {
                writer.index = 20
            } else {
                let civil = CivilTime(secondsSinceEpoch: seconds)
                writer.padded(civil.year, 4)
                writer.byte("-")
                writer.padded(civil.month, 2)
                writer.byte("-")
                writer.padded(civil.day, 2)
                writer.byte("T")
                writer.clock(civil)
                writer.byte(".")
            }
            writer.padded(fraction, 3)
            writer.byte("Z")
        }
    }

    /// Appends nginx's `$time_local` in UTC, e.g. `02/Jan/2025:03:04:05 +0000`.
    mutating func appendNginx(nanoseconds: Int64, to buffer: inout LineBuffer) {
        let seconds = floorDivide(nanoseconds, 1_000_000_000)
        if seconds != self.nginxSecond {
            self.nginxSecond = seconds
            let civil = CivilTime(secondsSinceEpoch: seconds)
            withUnsafeMutableBytes(of: &self.nginxText) { raw in
                var writer = FixedWriter(raw)
                writer.padded(civil.day, 2)
                writer.byte("/")
                let months: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"
                for offset in 0..<3 {
                    writer.raw(months.utf8Start[(civil.month - 1) * 3 + offset])
                }
                writer.byte("/")
                writer.padded(civil.year, 4)
                writer.byte(":")
                writer.clock(civil)
                for character in " +0000".utf8 {
                    writer.raw(character)
                }
            }
        }
        withUnsafeBytes(of: self.nginxText) { buffer.append($0) }
    }
}

private struct FixedWriter {
    let raw: UnsafeMutableRawBufferPointer
    var index = 0

    init(_ raw: UnsafeMutableRawBufferPointer) {
        self.raw = raw
    }

    mutating func raw(_ byte: UInt8) {
        self.raw[self.index] = byte
        self.index += 1
    }

    mutating func byte(_ character: Unicode.Scalar) {
        self.raw(UInt8(ascii: character))
    }

    /// `HH:MM:SS`.
    mutating func clock(_ civil: CivilTime) {
        self.padded(civil.hour, 2)
        self.byte(":")
        self.padded(civil.minute, 2)
        self.byte(":")
        self.padded(civil.second, 2)
    }

    mutating func padded(_ value: Int, _ width: Int) {
        var remaining = value
        var position = self.index + width
        while position > self.index {
            position -= 1
            self.raw[position] = UInt8(truncatingIfNeeded: remaining % 10) + 48
            remaining /= 10
        }
        self.index += width
    }
}

/// A UTC calendar time (proleptic Gregorian), from Howard Hinnant's `civil_from_days`.
struct CivilTime: Equatable {
    var year: Int
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int
    var second: Int

    init(secondsSinceEpoch: Int64) {
        let days = Int(floorDivide(secondsSinceEpoch, 86_400))
        let secondOfDay = Int(secondsSinceEpoch - Int64(days) * 86_400)
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        self.day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        self.month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        self.year = yearOfEra + era * 400 + (self.month <= 2 ? 1 : 0)
        self.hour = secondOfDay / 3600
        self.minute = secondOfDay / 60 % 60
        self.second = secondOfDay % 60
    }
}

@inline(__always)
func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
    let quotient = value / divisor
    return (value % divisor != 0 && value < 0) ? quotient - 1 : quotient
}
