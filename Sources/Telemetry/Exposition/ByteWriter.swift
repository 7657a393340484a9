/// Appends exposition text to a byte array without going through `String` for numbers.
package struct ByteWriter {
    package var bytes: [UInt8] = []

    package init(capacity: Int = 4096) {
        self.bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    package mutating func append(_ string: String) {
        self.bytes.append(contentsOf: string.utf8)
    }

    @inline(__always)
    package mutating func append(byte: UInt8) {
        self.bytes.append(byte)
    }

    package mutating func append(_ value: UInt64) {
        if value < 10 {
            self.bytes.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { raw in
            var remaining = value
            var index = raw.count
            while remaining > 0 {
                index -= 1
                raw[index] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            }
            self.bytes.append(contentsOf: raw[index...])
        }
    }

    package mutating func append(_ value: Int) {
        if value < 0 {
            self.bytes.append(UInt8(ascii: "-"))
            self.append(UInt64(value.magnitude))
        } else {
            self.append(UInt64(value))
        }
    }

    /// Shortest text that reads back as the same `Double`, as Go's `strconv.FormatFloat(v, 'g', -1, 64)`
    /// does for the values Prometheus clients emit: integers without a fraction, `+Inf`, `-Inf`, `NaN`.
    package mutating func append(_ value: Double) {
        if value.isNaN {
            self.append("NaN")
        } else if value.isInfinite {
            self.append(value > 0 ? "+Inf" : "-Inf")
        } else if value == value.rounded(), value.magnitude < 1e15 {
            self.append(Int(value))
        } else {
            self.append(value.description)
        }
    }

    /// Seconds since the epoch with millisecond precision (`1700000000.123`).
    package mutating func appendTimestamp(_ seconds: Double) {
        let milliseconds = Int((seconds * 1000).rounded())
        self.append(milliseconds / 1000)
        self.bytes.append(UInt8(ascii: "."))
        let fraction = milliseconds % 1000
        if fraction < 100 { self.bytes.append(UInt8(ascii: "0")) }
        if fraction < 10 { self.bytes.append(UInt8(ascii: "0")) }
        self.append(fraction)
    }

    /// A label value: backslash, double quote and line feed escaped.
    package mutating func appendEscapedLabelValue(_ value: String) {
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): self.append("\\\\")
            case UInt8(ascii: "\""): self.append("\\\"")
            case UInt8(ascii: "\n"): self.append("\\n")
            default: self.bytes.append(byte)
            }
        }
    }

    /// HELP text: backslash and line feed escaped, plus double quotes in OpenMetrics.
    package mutating func appendEscapedHelp(_ value: String, escapeQuotes: Bool) {
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): self.append("\\\\")
            case UInt8(ascii: "\"") where escapeQuotes: self.append("\\\"")
            case UInt8(ascii: "\n"): self.append("\\n")
            default: self.bytes.append(byte)
            }
        }
    }

    /// `{a="1",b="2"}` including an optional trailing `le`, or nothing when there are no labels.
    package mutating func appendLabels(_ names: [String], _ values: [String], le: String? = nil) {
        guard !names.isEmpty || le != nil else { return }
        self.bytes.append(UInt8(ascii: "{"))
        var first = true
        for (name, value) in zip(names, values) {
            if !first { self.bytes.append(UInt8(ascii: ",")) }
            first = false
            self.append(name)
            self.append("=\"")
            self.appendEscapedLabelValue(value)
            self.bytes.append(UInt8(ascii: "\""))
        }
        if let le {
            if !first { self.bytes.append(UInt8(ascii: ",")) }
            self.append("le=\"")
            self.append(le)
            self.bytes.append(UInt8(ascii: "\""))
        }
        self.bytes.append(UInt8(ascii: "}"))
    }
}
