/// How untrusted text is escaped for each output format.
enum TextEscaping {
    /// JSON string content: `"` `\` and control bytes escaped, invalid UTF-8 replaced by U+FFFD.
    case json
    /// logfmt quoted value: like JSON.
    case logfmtQuoted
    /// nginx log variables: `"`, `\`, control and non-ASCII bytes as `\xHH`.
    case nginx
}

private let hexDigits: StaticString = "0123456789abcdef"

extension LineBuffer {
    /// Appends `text` escaped for `mode`; reserve 6 bytes per input byte (plus the slack) beforehand.
    ///
    /// Text is copied eight bytes at a time while no byte in the word needs attention, which is the
    /// common case for paths, ids and user agents; a word that does is handled byte by byte.
    /// Eight bytes from the start of `text` must be readable even when it is shorter (record text
    /// areas and symbol-table entries are laid out so). Words are little-endian: the first byte of the
    /// text is the lowest byte of the word.
    mutating func appendEscaped(_ text: UnsafeRawBufferPointer, _ mode: TextEscaping) {
        guard let start = text.baseAddress else { return }
        let bytes = start.assumingMemoryBound(to: UInt8.self)
        let count = text.count
        if count < 8 {
            // One word holds it all: keep the text's bytes and pad with a harmless letter.
            let word = start.loadUnaligned(as: UInt64.self)
            let keptBits = UInt64(count) &* 8
            let short = count == 0 ? 0 : (word << (64 &- keptBits)) >> (64 &- keptBits)
            let padded = short | (0x4141_4141_4141_4141 << keptBits)
            if !wordNeedsEscaping(padded) {
                self.end.storeBytes(of: padded, as: UInt64.self)
                self.count &+= count
                return
            }
        }
        var index = 0
        while index < count {
            let remaining = count &- index
            if remaining >= 8 {
                let word = UnsafeRawPointer(bytes + index).loadUnaligned(as: UInt64.self)
                if !wordNeedsEscaping(word) {
                    self.end.storeBytes(of: word, as: UInt64.self)
                    self.count &+= 8
                    index &+= 8
                    continue
                }
            } else if count >= 8 {
                // The last few bytes: reload the final word (never reading past the text), drop the
                // bytes already written and pad with a harmless letter.
                let word = UnsafeRawPointer(bytes + (count &- 8)).loadUnaligned(as: UInt64.self)
                let consumedBits = UInt64(8 &- remaining) &* 8
                let tail = (word >> consumedBits) | (0x4141_4141_4141_4141 << (64 &- consumedBits))
                if !wordNeedsEscaping(tail) {
                    self.end.storeBytes(of: tail, as: UInt64.self)
                    self.count &+= remaining
                    return
                }
            }
            index = self.appendEscapedSlowly(bytes, count: count, at: index, mode)
        }
    }

    /// Handles the byte (or UTF-8 sequence) at `index` and the rest of its word; returns the next index.
    private mutating func appendEscapedSlowly(
        _ bytes: UnsafePointer<UInt8>,
        count: Int,
        at start: Int,
        _ mode: TextEscaping
    ) -> Int {
        var index = start
        let stop = min(count, start &+ 8)
        while index < stop {
            let byte = bytes[index]
            if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                self.append(byte)
                index &+= 1
                continue
            }
            if mode != .nginx && byte >= 0x80 {
                let length = validUTF8SequenceLength(bytes + index, available: count &- index)
                if length > 0 {
                    self.append(UnsafeRawBufferPointer(start: bytes + index, count: length))
                    index &+= length
                    continue
                }
            }
            self.appendEscapedByte(byte, mode)
            index &+= 1
        }
        return index
    }

    private mutating func appendEscapedByte(_ byte: UInt8, _ mode: TextEscaping) {
        if mode == .nginx {
            self.append(UInt8(ascii: "\\"))
            self.append(UInt8(ascii: "x"))
            self.append(hexDigits.utf8Start[Int(byte >> 4)])
            self.append(hexDigits.utf8Start[Int(byte & 0xF)])
            return
        }
        switch byte {
        case UInt8(ascii: "\""): self.append("\\\"")
        case UInt8(ascii: "\\"): self.append("\\\\")
        case UInt8(ascii: "\n"): self.append("\\n")
        case UInt8(ascii: "\r"): self.append("\\r")
        case UInt8(ascii: "\t"): self.append("\\t")
        case 0x80...: self.append("\\ufffd")
        default:
            self.append("\\u00")
            self.append(hexDigits.utf8Start[Int(byte >> 4)])
            self.append(hexDigits.utf8Start[Int(byte & 0xF)])
        }
    }
}

/// Whether any of the eight bytes in `word` is a control byte, `"`, `\\`, DEL or non-ASCII (SWAR test).
@inline(__always)
func wordNeedsEscaping(_ word: UInt64) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highBits: UInt64 = 0x8080_8080_8080_8080
    // (x - n) & ~x has a byte's high bit set where that byte of x is below n (given x < 0x80); a
    // byte equal to c is a zero byte of x ^ c.
    let below0x20 = word &- 0x2020_2020_2020_2020
    let quote = word ^ 0x2222_2222_2222_2222
    let backslash = word ^ 0x5C5C_5C5C_5C5C_5C5C
    let delete = word ^ 0x7F7F_7F7F_7F7F_7F7F
    let zeroes = (quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (delete &- ones) & ~delete
    return (word | below0x20 & ~word | zeroes) & highBits != 0
}

/// The length of the well-formed UTF-8 sequence at `bytes` (which starts with a byte >= 0x80), or 0.
@inline(__always)
func validUTF8SequenceLength(_ bytes: UnsafePointer<UInt8>, available: Int) -> Int {
    let lead = bytes[0]
    let length: Int
    var lower: UInt8 = 0x80
    var upper: UInt8 = 0xBF
    switch lead {
    case 0xC2...0xDF: length = 2
    case 0xE0:
        length = 3
        lower = 0xA0
    case 0xE1...0xEC, 0xEE...0xEF: length = 3
    case 0xED:
        length = 3
        upper = 0x9F
    case 0xF0:
        length = 4
        lower = 0x90
    case 0xF1...0xF3: length = 4
    case 0xF4:
        length = 4
        upper = 0x8F
    default: return 0
    }
    guard available >= length else { return 0 }
    guard bytes[1] >= lower && bytes[1] <= upper else { return 0 }
    var index = 2
    while index < length {
        guard bytes[index] & 0xC0 == 0x80 else { return 0 }
        index += 1
    }
    return length
}

/// Whether a logfmt value must be quoted: empty, or holding a space, `=`, `"`, `\` or a control byte.
func logfmtNeedsQuoting(_ text: UnsafeRawBufferPointer) -> Bool {
    if text.isEmpty { return true }
    for byte in text
    where byte <= 0x20 || byte == UInt8(ascii: "=") || byte == UInt8(ascii: "\"")
        || byte == UInt8(ascii: "\\") || byte == 0x7F
    {
        return true
    }
    return false
}
