/// A log line parsed back into ordered fields (from JSON or logfmt), for filtering and re-formatting.
public struct AccessLogLine: Sendable {
    /// A field's value as it appeared.
    public enum Value: Sendable, Equatable {
        case string(String)
        /// A number, kept as its text.
        case number(String)
        case bool(Bool)
        case null

        /// The value as plain text (`-` for null).
        public var text: String {
            switch self {
            case .string(let text), .number(let text): return text
            case .bool(let value): return value ? "true" : "false"
            case .null: return "-"
            }
        }
    }

    /// The line as read.
    public var raw: String
    /// The fields in order; empty when the line is in neither JSON nor logfmt.
    public var fields: [(key: String, value: Value)]
    /// Whether the line was JSON.
    public var isJSON: Bool

    /// Parses a JSON-object or logfmt line; other lines keep only ``raw``.
    public init(_ raw: String) {
        self.raw = raw
        let bytes = Array(raw.utf8)
        if bytes.first == UInt8(ascii: "{") {
            var parser = FlatJSONParser(bytes)
            if let fields = parser.parseObject() {
                self.fields = fields
                self.isJSON = true
                return
            }
        }
        self.isJSON = false
        self.fields = parseLogfmt(bytes) ?? []
    }

    /// The value of `key`, if present.
    public subscript(key: String) -> Value? {
        self.fields.first { $0.key == key }?.value
    }

    /// Whether `key` holds `expected`: numbers compare by value, and a status class such as `5xx`
    /// matches any whole number in 500...599; everything else compares as text.
    public func matches(key: String, expected: String) -> Bool {
        guard let value = self[key] else { return false }
        if case .number(let text) = value, let number = Double(text) {
            return numberMatches(number, text: text, expected: expected)
        }
        return value.text == expected
    }

    /// The line in `format`; a line that could not be parsed is returned unchanged.
    public func rendered(as format: AccessLogFormat) -> String {
        if self.fields.isEmpty { return self.raw }
        switch format {
        case .json:
            if self.isJSON { return self.raw }
            var out = "{"
            for (index, field) in self.fields.enumerated() {
                if index > 0 { out += "," }
                out += jsonQuoted(field.key) + ":"
                switch field.value {
                case .string(let text): out += jsonQuoted(text)
                case .number(let text): out += text
                case .bool, .null: out += field.value.text == "-" ? "null" : field.value.text
                }
            }
            return out + "}"
        case .logfmt:
            return self.fields.map { field in
                let text = field.value.text
                // The writer's rule (logfmtNeedsQuoting), DEL included.
                let needsQuotes =
                    text.isEmpty
                    || text.utf8.contains { $0 <= 0x20 || $0 == 0x3D || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F }
                return field.key + "=" + (needsQuotes ? jsonQuoted(text) : text)
            }.joined(separator: " ")
        case .combined:
            func field(_ key: String) -> String {
                guard let value = self[key], value != .null else { return "-" }
                let text = value.text
                return text.isEmpty ? "-" : text
            }
            // As the writer does: the consumer as `$remote_user`, `rejected_by=` only when a plugin ended it,
            // `tls=<protocol>/<cipher>` only over TLS, `trace_id=` only with a trace id.
            let rejectedBy = field("rejected_by")
            let tlsProtocol = field("tls_protocol")
            let tlsCipher = field("tls_cipher")
            let traceID = field("trace_id")
            let tls = tlsProtocol == "-" && tlsCipher == "-" ? "" : " tls=" + tlsProtocol + "/" + tlsCipher
            return field("client") + " - " + field("consumer") + " [" + nginxTime(field("time")) + "] \""
                + field("method") + " " + field("path") + " " + field("protocol") + "\" " + field("status") + " "
                + field("bytes_out") + " \"-\" \"" + field("user_agent") + "\""
                + (rejectedBy == "-" ? "" : " rejected_by=" + rejectedBy) + tls
                + (traceID == "-" ? "" : " trace_id=" + traceID)
        }
    }
}

/// Whether a number written as `text` matches a `--where` value: by value, by status class (`5xx`: a
/// whole number in 500...599), or as text.
func numberMatches(_ number: Double, text: String, expected: String) -> Bool {
    if let value = Double(expected) { return number == value }
    if let statusClass = statusClass(expected) {
        return number == number.rounded() && number >= statusClass && number < statusClass + 100
    }
    return text == expected
}

/// The lowest status of a class written `1xx`...`5xx` (either case), or nil.
func statusClass(_ text: String) -> Double? {
    let bytes = Array(text.utf8)
    guard bytes.count == 3, (UInt8(ascii: "1")...UInt8(ascii: "5")).contains(bytes[0]),
        bytes[1] | 0x20 == UInt8(ascii: "x"), bytes[2] | 0x20 == UInt8(ascii: "x")
    else { return nil }
    return Double(bytes[0] - UInt8(ascii: "0")) * 100
}

/// `2025-01-02T03:04:05.678Z` → `02/Jan/2025:03:04:05 +0000`; other text unchanged.
private func nginxTime(_ rfc3339: String) -> String {
    let bytes = Array(rfc3339.utf8)
    guard bytes.count >= 19, let month = Int(String(decoding: bytes[5..<7], as: UTF8.self)), (1...12).contains(month)
    else { return rfc3339 }
    let names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    let text = { (range: Range<Int>) in String(decoding: bytes[range], as: UTF8.self) }
    return text(8..<10) + "/" + names[month - 1] + "/" + text(0..<4) + ":" + text(11..<19) + " +0000"
}

func jsonQuoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        // DEL too, as the writer escapes it.
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// A parser for the flat JSON objects the logger writes (string, number, bool and null values).
struct FlatJSONParser {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func parseObject() -> [(key: String, value: AccessLogLine.Value)]? {
        var fields: [(key: String, value: AccessLogLine.Value)] = []
        guard self.take(UInt8(ascii: "{")) else { return nil }
        self.skipSpace()
        if self.take(UInt8(ascii: "}")) { return fields }
        while true {
            self.skipSpace()
            guard let key = self.parseString() else { return nil }
            self.skipSpace()
            guard self.take(UInt8(ascii: ":")) else { return nil }
            self.skipSpace()
            guard let value = self.parseValue() else { return nil }
            fields.append((key, value))
            self.skipSpace()
            if self.take(UInt8(ascii: ",")) { continue }
            guard self.take(UInt8(ascii: "}")) else { return nil }
            self.skipSpace()
            return self.index == self.bytes.count ? fields : nil
        }
    }

    private mutating func parseValue() -> AccessLogLine.Value? {
        guard self.index < self.bytes.count else { return nil }
        switch self.bytes[self.index] {
        case UInt8(ascii: "\""): return self.parseString().map { .string($0) }
        case UInt8(ascii: "t"): return self.literal("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return self.literal("false") ? .bool(false) : nil
        case UInt8(ascii: "n"): return self.literal("null") ? .null : nil
        default:
            let start = self.index
            while self.index < self.bytes.count,
                [UInt8]("0123456789+-.eE".utf8).contains(self.bytes[self.index])
            {
                self.index += 1
            }
            guard self.index > start else { return nil }
            let text = String(decoding: self.bytes[start..<self.index], as: UTF8.self)
            return Double(text) == nil ? nil : .number(text)
        }
    }

    private mutating func literal(_ word: String) -> Bool {
        let expected = Array(word.utf8)
        guard self.bytes.count - self.index >= expected.count,
            Array(self.bytes[self.index..<self.index + expected.count]) == expected
        else { return false }
        self.index += expected.count
        return true
    }

    private mutating func parseString() -> String? {
        guard self.take(UInt8(ascii: "\"")) else { return nil }
        var scalars = String.UnicodeScalarView()
        var run: [UInt8] = []
        func flush() {
            scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
            run.removeAll()
        }
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            self.index += 1
            if byte == UInt8(ascii: "\"") {
                flush()
                return String(scalars)
            }
            guard byte == UInt8(ascii: "\\") else {
                run.append(byte)
                continue
            }
            guard self.index < self.bytes.count else { return nil }
            let escape = self.bytes[self.index]
            self.index += 1
            switch escape {
            case UInt8(ascii: "n"): run.append(0x0A)
            case UInt8(ascii: "r"): run.append(0x0D)
            case UInt8(ascii: "t"): run.append(0x09)
            case UInt8(ascii: "b"): run.append(0x08)
            case UInt8(ascii: "f"): run.append(0x0C)
            case UInt8(ascii: "u"):
                guard self.bytes.count - self.index >= 4,
                    let code = UInt32(
                        String(decoding: self.bytes[self.index..<self.index + 4], as: UTF8.self),
                        radix: 16
                    )
                else { return nil }
                self.index += 4
                flush()
                scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
            default: run.append(escape)
            }
        }
        return nil
    }

    private mutating func skipSpace() {
        while self.index < self.bytes.count && (self.bytes[self.index] == 0x20 || self.bytes[self.index] == 0x09) {
            self.index += 1
        }
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard self.index < self.bytes.count, self.bytes[self.index] == byte else { return false }
        self.index += 1
        return true
    }
}

/// Parses `key=value key="quoted value"` pairs; nil when the line is not logfmt.
func parseLogfmt(_ bytes: [UInt8]) -> [(key: String, value: AccessLogLine.Value)]? {
    var fields: [(key: String, value: AccessLogLine.Value)] = []
    var index = 0
    while index < bytes.count {
        while index < bytes.count && bytes[index] == 0x20 { index += 1 }
        if index == bytes.count { break }
        let keyStart = index
        while index < bytes.count && bytes[index] != UInt8(ascii: "=") && bytes[index] != 0x20 { index += 1 }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "="), index > keyStart else { return nil }
        let key = String(decoding: bytes[keyStart..<index], as: UTF8.self)
        index += 1
        if index < bytes.count && bytes[index] == UInt8(ascii: "\"") {
            var parser = FlatJSONParser(Array(bytes[index...]))
            guard let (text, used) = parser.parseLeadingString() else { return nil }
            fields.append((key, .string(text)))
            index += used
        } else {
            let valueStart = index
            while index < bytes.count && bytes[index] != 0x20 { index += 1 }
            let text = String(decoding: bytes[valueStart..<index], as: UTF8.self)
            let isNumber = !text.isEmpty && Double(text) != nil && text.first != "+"
            fields.append((key, isNumber ? .number(text) : .string(text)))
        }
    }
    return fields.isEmpty ? nil : fields
}

extension FlatJSONParser {
    /// Parses a quoted string at the start; returns it with the number of bytes it took.
    mutating func parseLeadingString() -> (String, Int)? {
        guard let text = self.parseString() else { return nil }
        return (text, self.index)
    }
}
