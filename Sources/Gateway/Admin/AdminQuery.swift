/// The arguments of a request's query string (`page=2&page_size=10&api_key=...`).
///
/// Names and values are percent-decoded (`+` stays a plus: keys may contain it); the first occurrence of a
/// name wins; an argument that does not decode is dropped.
package struct AdminQuery: Sendable {
    private var arguments: [String: String] = [:]

    /// Parses `query` (without the `?`).
    package init(_ query: String) {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.percentDecoded(parts[0]), arguments[name] == nil else { continue }
            guard let value = parts.count > 1 ? Self.percentDecoded(parts[1]) : "" else { continue }
            arguments[name] = value
        }
    }

    /// The value of argument `name`; `""` when it is present without a value.
    package subscript(name: String) -> String? { arguments[name] }

    /// `text` with `%XX` escapes decoded; `nil` when an escape is malformed or the result is not UTF-8.
    package static func percentDecoded(_ text: Substring) -> String? {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
