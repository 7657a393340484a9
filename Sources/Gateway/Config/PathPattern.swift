/// A parsed route path: literal and `:param` segments, optionally ending in a `*` prefix wildcard.
///
/// "/api/*" matches "/api/" and "/api/x/y" but not "/api" (as APISIX does). A `:name` segment matches
/// exactly one non-empty segment. Matching is on the raw, undecoded bytes.
package struct PathPattern: Sendable, Equatable {
    /// One path segment of a pattern.
    package enum Segment: Sendable, Equatable {
        /// Must equal this text exactly (may be empty, as in "/a//b" or the trailing slash of "/a/").
        case literal(String)
        /// Matches any one non-empty segment.
        case param(String)
    }

    /// Segments between slashes, without the trailing `*`.
    package var segments: [Segment]
    /// Whether the pattern ended in "/*" and so matches any remainder of at least one (possibly empty) segment.
    package var isPrefix: Bool

    /// Whether any segment is a `:param`.
    package var hasParams: Bool {
        segments.contains { if case .param = $0 { true } else { false } }
    }

    /// Bytes of the pattern before the `*`; a longer prefix wins over a shorter one.
    package var prefixLength: Int {
        segments.reduce(0) { total, segment in
            switch segment {
            case .literal(let text): total + 1 + text.utf8.count
            case .param(let name): total + 2 + name.utf8.count
            }
        }
    }

    /// Parses a route `uri`, explaining what is wrong when it is not a valid pattern.
    package init(parsing text: String) throws(PatternError) {
        guard text.hasPrefix("/") else {
            throw PatternError("uri must start with \"/\", not \"\(text)\"")
        }
        for byte in text.utf8
        where byte <= 0x20 || byte == 0x7F || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") {
            let shown =
                byte == 0x20
                ? "space" : byte < 0x20 || byte == 0x7F ? "control character" : "\"\(Character(UnicodeScalar(byte)))\""
            throw PatternError("uri \"\(text)\" contains a \(shown); match paths only, without query or fragment")
        }
        let parts = text.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        var segments: [Segment] = []
        var isPrefix = false
        for (index, part) in parts.enumerated() {
            if part == "*" {
                guard index == parts.count - 1 else {
                    throw PatternError("\"*\" is only allowed as the last segment, e.g. \"/api/*\" (in \"\(text)\")")
                }
                isPrefix = true
            } else if part.contains("*") {
                throw PatternError(
                    "\"*\" must be a whole segment at the end, e.g. \"/api/*\" rather than \"\(text)\""
                )
            } else if part.hasPrefix(":") {
                let name = part.dropFirst()
                guard !name.isEmpty, name.utf8.allSatisfy(Self.isNameByte) else {
                    throw PatternError(
                        "parameter segment \"\(part)\" needs a name of letters, digits or \"_\" (in \"\(text)\")"
                    )
                }
                segments.append(.param(String(name)))
            } else {
                segments.append(.literal(String(part)))
            }
        }
        self.segments = segments
        self.isPrefix = isPrefix
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
    }
}
