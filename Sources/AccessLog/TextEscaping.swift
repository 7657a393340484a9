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
    /// Appends `text` escaped for `mode`; reserve 6 bytes per input byte beforehand.
    mutating func appendEscaped(_ text: UnsafeRawBufferPointer, _ mode: TextEscaping) {
        guard let start = text.baseAddress else { return }
        let bytes = start.assumingMemoryBound(to: UInt8.self)
        let count = text.count
        var index = 0
        var runStart = 0
        while index < count {
            let byte = bytes[index]
            if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                index &+= 1
                continue
            }
            if mode != .nginx && byte >= 0x80 {
                let length = validUTF8SequenceLength(bytes + index, available: count - index)
                if length > 0 {
                    index &+= length
                    continue
                }
            }
            self.append(UnsafeRawBufferPointer(start: bytes + runStart, count: index - runStart))
            self.appendEscapedByte(byte, mode)
            index &+= 1
            runStart = index
        }
        self.append(UnsafeRawBufferPointer(start: bytes + runStart, count: index - runStart))
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
