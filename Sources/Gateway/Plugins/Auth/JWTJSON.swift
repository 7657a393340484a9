/// A strict reader of the top-level members of one JSON object (RFC 8259): a JWT's header or claims,
/// read on the worker without allocating.
///
/// Strings are unescaped in place (an escape never decodes to more bytes than it takes), so the text
/// must be writable scratch bytes; nested objects and arrays are checked and skipped. Anything that is
/// not exactly one well-formed object, or nests deeper than ``maximumDepth``, is rejected. String
/// contents are handed on as bytes: they are compared, never decoded, so UTF-8 is not validated.
package struct JWTJSON {
    /// A top-level member's value.
    package enum Value {
        /// A string, unescaped.
        case string(UnsafeRawBufferPointer)
        /// A number, as written (RFC 8259 §6 grammar already checked).
        case number(UnsafeRawBufferPointer)
        /// `true`, `false`, `null`, an object or an array.
        case other
    }

    /// The deepest nesting accepted (the object itself is depth 1).
    package static let maximumDepth = 32

    private let text: UnsafeMutableRawBufferPointer
    private var index = 0

    private init(_ text: UnsafeMutableRawBufferPointer) {
        self.text = text
    }

    /// Reads `text` as one JSON object and calls `body` with each top-level member's unescaped name and
    /// value, in order. Returns false when `text` is anything else (`body` may have seen earlier members).
    package static func forEachMember(
        in text: UnsafeMutableRawBufferPointer,
        _ body: (UnsafeRawBufferPointer, Value) -> Void
    ) -> Bool {
        var reader = JWTJSON(text)
        reader.skipSpace()
        guard reader.consume(UInt8(ascii: "{")) else { return false }
        reader.skipSpace()
        if !reader.consume(UInt8(ascii: "}")) {
            while true {
                reader.skipSpace()
                guard let name = reader.string() else { return false }
                reader.skipSpace()
                guard reader.consume(UInt8(ascii: ":")) else { return false }
                reader.skipSpace()
                guard let value = reader.value(depth: 1) else { return false }
                body(name, value)
                reader.skipSpace()
                if reader.consume(UInt8(ascii: ",")) { continue }
                guard reader.consume(UInt8(ascii: "}")) else { return false }
                break
            }
        }
        reader.skipSpace()
        return reader.index == text.count
    }

    /// A JSON number's value as seconds since the epoch (an RFC 7519 NumericDate, which may have a
    /// fraction). `number` must hold the RFC 8259 grammar, as ``Value/number(_:)`` does.
    package static func numericDate(_ number: UnsafeRawBufferPointer) -> Double {
        var index = 0
        let negative = number.count > 0 && number[0] == UInt8(ascii: "-")
        if negative { index = 1 }
        var mantissa = 0.0
        var scale = 0
        while index < number.count, let digit = digit(number[index]) {
            mantissa = mantissa * 10 + Double(digit)
            index &+= 1
        }
        if index < number.count && number[index] == UInt8(ascii: ".") {
            index &+= 1
            while index < number.count, let digit = digit(number[index]) {
                mantissa = mantissa * 10 + Double(digit)
                scale -= 1
                index &+= 1
            }
        }
        if index < number.count && (number[index] | 0x20) == UInt8(ascii: "e") {
            index &+= 1
            var exponentSign = 1
            if index < number.count && (number[index] == UInt8(ascii: "-") || number[index] == UInt8(ascii: "+")) {
                if number[index] == UInt8(ascii: "-") { exponentSign = -1 }
                index &+= 1
            }
            var exponent = 0
            while index < number.count, let digit = digit(number[index]) {
                // Past a few hundred the result is 0 or infinite anyway; the cap keeps the sum in range.
                if exponent < 100_000 { exponent = exponent * 10 + Int(digit) }
                index &+= 1
            }
            scale += exponentSign * exponent
        }
        var value = mantissa
        if value != 0 {
            var remaining = min(max(scale, -700), 700)
            while remaining > 0 {
                value *= 10
                remaining -= 1
            }
            while remaining < 0 {
                value /= 10
                remaining += 1
            }
        }
        return negative ? -value : value
    }

    /// Whether `bytes` (an unescaped name or string) are exactly `literal`.
    @inline(__always)
    package static func equals(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        var index = 0
        while index < bytes.count {
            if bytes[index] != literal.utf8Start[index] { return false }
            index &+= 1
        }
        return true
    }

    // MARK: - Grammar

    @inline(__always)
    private mutating func skipSpace() {
        while index < text.count {
            switch text[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index &+= 1
            default: return
            }
        }
    }

    @inline(__always)
    private mutating func consume(_ byte: UInt8) -> Bool {
        guard index < text.count && text[index] == byte else { return false }
        index &+= 1
        return true
    }

    private mutating func value(depth: Int) -> Value? {
        guard index < text.count else { return nil }
        switch text[index] {
        case UInt8(ascii: "\""):
            return string().map { .string($0) }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return number().map { .number($0) }
        case UInt8(ascii: "t"):
            return literal("true") ? .other : nil
        case UInt8(ascii: "f"):
            return literal("false") ? .other : nil
        case UInt8(ascii: "n"):
            return literal("null") ? .other : nil
        case UInt8(ascii: "{"):
            return skipObject(depth: depth + 1) ? .other : nil
        case UInt8(ascii: "["):
            return skipArray(depth: depth + 1) ? .other : nil
        default:
            return nil
        }
    }

    private mutating func skipObject(depth: Int) -> Bool {
        guard depth <= Self.maximumDepth else { return false }
        index &+= 1
        skipSpace()
        if consume(UInt8(ascii: "}")) { return true }
        while true {
            skipSpace()
            guard string() != nil else { return false }
            skipSpace()
            guard consume(UInt8(ascii: ":")) else { return false }
            skipSpace()
            guard value(depth: depth) != nil else { return false }
            skipSpace()
            if consume(UInt8(ascii: ",")) { continue }
            return consume(UInt8(ascii: "}"))
        }
    }

    private mutating func skipArray(depth: Int) -> Bool {
        guard depth <= Self.maximumDepth else { return false }
        index &+= 1
        skipSpace()
        if consume(UInt8(ascii: "]")) { return true }
        while true {
            skipSpace()
            guard value(depth: depth) != nil else { return false }
            skipSpace()
            if consume(UInt8(ascii: ",")) { continue }
            return consume(UInt8(ascii: "]"))
        }
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard text.count - index >= count else { return false }
        var offset = 0
        while offset < count {
            if text[index &+ offset] != word.utf8Start[offset] { return false }
            offset &+= 1
        }
        index &+= count
        return true
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func number() -> UnsafeRawBufferPointer? {
        let start = index
        _ = consume(UInt8(ascii: "-"))
        guard index < text.count, Self.digit(text[index]) != nil else { return nil }
        if text[index] == UInt8(ascii: "0") {
            index &+= 1
        } else {
            skipDigits()
        }
        if consume(UInt8(ascii: ".")) {
            guard index < text.count, Self.digit(text[index]) != nil else { return nil }
            skipDigits()
        }
        if index < text.count && (text[index] | 0x20) == UInt8(ascii: "e") {
            index &+= 1
            if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
            guard index < text.count, Self.digit(text[index]) != nil else { return nil }
            skipDigits()
        }
        return UnsafeRawBufferPointer(rebasing: text[start..<index])
    }

    @inline(__always)
    private mutating func skipDigits() {
        while index < text.count && Self.digit(text[index]) != nil { index &+= 1 }
    }

    /// Reads a string at `index` (which must be its opening quote), unescaping it in place; returns the
    /// unescaped bytes.
    private mutating func string() -> UnsafeRawBufferPointer? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = index
        var written = start
        while index < text.count {
            let byte = text[index]
            switch byte {
            case UInt8(ascii: "\""):
                index &+= 1
                return UnsafeRawBufferPointer(rebasing: text[start..<written])
            case UInt8(ascii: "\\"):
                guard index + 1 < text.count else { return nil }
                let escape = text[index + 1]
                index &+= 2
                let decoded: UInt8
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded = escape
                case UInt8(ascii: "b"): decoded = 0x08
                case UInt8(ascii: "f"): decoded = 0x0C
                case UInt8(ascii: "n"): decoded = 0x0A
                case UInt8(ascii: "r"): decoded = 0x0D
                case UInt8(ascii: "t"): decoded = 0x09
                case UInt8(ascii: "u"):
                    guard let scalar = unicodeEscape() else { return nil }
                    written = encode(scalar, at: written)
                    continue
                default: return nil
                }
                text[written] = decoded
                written &+= 1
            case 0..<0x20:
                return nil
            default:
                text[written] = byte
                written &+= 1
                index &+= 1
            }
        }
        return nil
    }

    /// The scalar of a `\uXXXX` escape whose `\u` was just read, joining a UTF-16 surrogate pair
    /// (`\uD83D\uDE00`); nil for bad hex or an unpaired surrogate.
    private mutating func unicodeEscape() -> UInt32? {
        guard let high = hex4() else { return nil }
        switch high {
        case 0xD800...0xDBFF:
            guard text.count - index >= 6, text[index] == UInt8(ascii: "\\"), text[index + 1] == UInt8(ascii: "u")
            else { return nil }
            index &+= 2
            guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
            return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        case 0xDC00...0xDFFF:
            return nil
        default:
            return high
        }
    }

    private mutating func hex4() -> UInt32? {
        guard text.count - index >= 4 else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = text[index]
            let nibble: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(nibble)
            index &+= 1
        }
        return value
    }

    /// Writes `scalar` as UTF-8 at `offset`, returning the offset after it. The escape it came from was
    /// at least as long (6 bytes for up to 3, 12 for 4), so it never overtakes the reading position.
    private func encode(_ scalar: UInt32, at offset: Int) -> Int {
        switch scalar {
        case 0..<0x80:
            text[offset] = UInt8(scalar)
            return offset &+ 1
        case 0x80..<0x800:
            text[offset] = UInt8(0xC0 | scalar >> 6)
            text[offset &+ 1] = UInt8(0x80 | scalar & 0x3F)
            return offset &+ 2
        case 0x800..<0x10000:
            text[offset] = UInt8(0xE0 | scalar >> 12)
            text[offset &+ 1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            text[offset &+ 2] = UInt8(0x80 | scalar & 0x3F)
            return offset &+ 3
        default:
            text[offset] = UInt8(0xF0 | scalar >> 18)
            text[offset &+ 1] = UInt8(0x80 | scalar >> 12 & 0x3F)
            text[offset &+ 2] = UInt8(0x80 | scalar >> 6 & 0x3F)
            text[offset &+ 3] = UInt8(0x80 | scalar & 0x3F)
            return offset &+ 4
        }
    }

    @inline(__always)
    private static func digit(_ byte: UInt8) -> UInt8? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? byte - UInt8(ascii: "0") : nil
    }
}
