#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `gateway logs tail --where FIELD=VALUE` filters, checked on a line's raw bytes first.
///
/// Parsing a line into fields costs microseconds; most lines of a large log fail a filter, and the
/// bytes show it without parsing: a line that matches holds the field's key (`"key":` in JSON, `key=`
/// in logfmt) and, for a plain text value, the value itself. Only lines passing that test are parsed
/// and compared exactly (``AccessLogLine/matches(key:expected:)``).
struct AccessLogLineFilter {
    private struct Condition {
        let key: String
        let value: String
        let jsonKey: [UInt8]
        let logfmtKey: [UInt8]
        /// The value's bytes when any matching line must contain them verbatim; nil when it may be
        /// written differently (numbers compare by value; escaped characters).
        let literal: [UInt8]?
    }

    private let conditions: [Condition]

    init(_ filters: [(field: String, value: String)]) {
        self.conditions = filters.map { filter in
            let plain = filter.value.utf8.allSatisfy { byte in
                byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
                    && byte != UInt8(ascii: " ") && byte != UInt8(ascii: "=")
            }
            // Numbers and status classes (`5xx`) may be written differently from the filter's text.
            let numeric = Double(filter.value) != nil || statusClass(filter.value) != nil
            return Condition(
                key: filter.field,
                value: filter.value,
                jsonKey: Array("\"\(filter.field)\":".utf8),
                logfmtKey: Array("\(filter.field)=".utf8),
                literal: plain && !numeric && !filter.value.isEmpty ? Array(filter.value.utf8) : nil
            )
        }
    }

    var isEmpty: Bool { self.conditions.isEmpty }

    /// Whether `line` has every field with the expected value.
    func accepts(_ line: UnsafeRawBufferPointer) -> Bool {
        if self.conditions.isEmpty { return true }
        if line.first == UInt8(ascii: "{") {
            // JSON: `"key":` cannot occur inside a string value (its quotes would be escaped), so the
            // value after it can be read in place; only escaped string values need the full parser.
            var needsParse = false
            for condition in self.conditions {
                switch Self.jsonValueMatches(line, condition) {
                case .some(false): return false
                case .some(true): continue
                case .none: needsParse = true
                }
            }
            if !needsParse { return true }
        } else {
            for condition in self.conditions {
                guard contains(line, condition.logfmtKey) else { return false }
                if let literal = condition.literal, !contains(line, literal) { return false }
            }
        }
        let parsed = AccessLogLine(String(decoding: line, as: UTF8.self))
        return self.conditions.allSatisfy { parsed.matches(key: $0.key, expected: $0.value) }
    }

    /// Compares the JSON value of `condition.key` in place: nil when it needs the full parser.
    private static func jsonValueMatches(_ line: UnsafeRawBufferPointer, _ condition: Condition) -> Bool? {
        guard let keyStart = find(line, condition.jsonKey) else { return false }
        var index = keyStart + condition.jsonKey.count
        while index < line.count && (line[index] == 0x20 || line[index] == 0x09) { index += 1 }
        guard index < line.count else { return nil }
        if line[index] == UInt8(ascii: "\"") {
            let start = index + 1
            var end = start
            while end < line.count && line[end] != UInt8(ascii: "\"") {
                if line[end] == UInt8(ascii: "\\") { return nil }
                end += 1
            }
            guard end < line.count else { return nil }
            return UnsafeRawBufferPointer(rebasing: line[start..<end]).elementsEqual(condition.value.utf8)
        }
        var end = index
        while end < line.count && line[end] != UInt8(ascii: ",") && line[end] != UInt8(ascii: "}")
            && line[end] != 0x20
        {
            end += 1
        }
        let token = String(decoding: UnsafeRawBufferPointer(rebasing: line[index..<end]), as: UTF8.self)
        switch token {
        case "null": return condition.value == "-"
        case "true", "false": return token == condition.value
        default:
            // A number: compared as the full parser does (`status=404` matches `404.0`, `5xx` 502).
            guard let number = Double(token) else { return nil }
            return numberMatches(number, text: token, expected: condition.value)
        }
    }
}

/// Where `pattern` first occurs in `bytes` (first byte found with `memchr`, the rest compared with `memcmp`).
func find(_ bytes: UnsafeRawBufferPointer, _ pattern: [UInt8]) -> Int? {
    guard let base = bytes.baseAddress, !pattern.isEmpty else { return pattern.isEmpty ? 0 : nil }
    return pattern.withUnsafeBytes { needle -> Int? in
        let first = Int32(needle[0])
        var offset = 0
        while bytes.count - offset >= needle.count {
            guard let found = memchr(base + offset, first, bytes.count - offset - needle.count + 1) else {
                return nil
            }
            let position = UnsafeRawPointer(found) - base
            if memcmp(base + position, needle.baseAddress!, needle.count) == 0 { return position }
            offset = position + 1
        }
        return nil
    }
}

/// Whether `pattern` occurs in `bytes`.
func contains(_ bytes: UnsafeRawBufferPointer, _ pattern: [UInt8]) -> Bool {
    find(bytes, pattern) != nil
}
