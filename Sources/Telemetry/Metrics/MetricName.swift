/// Prometheus naming rules for metric and label names.
package enum MetricName {
    package static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !name.isEmpty else { return false }
        guard Self.isLetter(first) || first == UInt8(ascii: "_") || first == UInt8(ascii: ":") else { return false }
        return name.utf8.allSatisfy {
            Self.isLetter($0) || Self.isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":")
        }
    }

    package static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first else { return false }
        guard Self.isLetter(first) || first == UInt8(ascii: "_") else { return false }
        guard !name.hasPrefix("__") else { return false }
        return name.utf8.allSatisfy { Self.isLetter($0) || Self.isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// Replaces every character Prometheus does not allow with `_` (for names from swift-metrics).
    package static func sanitize(_ name: String, allowColon: Bool = true) -> String {
        var bytes = Array(name.utf8).map { byte -> UInt8 in
            let allowed =
                Self.isLetter(byte) || Self.isDigit(byte) || byte == UInt8(ascii: "_")
                || (allowColon && byte == UInt8(ascii: ":"))
            return allowed ? byte : UInt8(ascii: "_")
        }
        if bytes.isEmpty || Self.isDigit(bytes[0]) {
            bytes.insert(UInt8(ascii: "_"), at: 0)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
