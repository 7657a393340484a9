import Glibc

/// Which request origins a `cors` setting allows (`allow_origins`, `timing_allow_origins` and their
/// `_by_regex` lists), and what the response names as the allowed origin.
struct OriginRule {
    enum Kind {
        /// `*`: any origin, answered `*`.
        case any
        /// `**`: any origin, echoed (`*` when the request has none).
        case echo
        /// Listed origins, compared byte for byte.
        case list
        /// Patterns, any of which may match the origin anywhere (`ngx.re.find`).
        case patterns
    }

    let kind: Kind
    let list: [PluginText]
    let regexes: [ByteRegex]

    /// The rule for an origins string (already checked with ``isValid(_:)``), or for `regexes` when there
    /// are any: APISIX 3.x ignores the string then.
    init(_ text: String, regexes: [ByteRegex]) {
        self.regexes = regexes
        if !regexes.isEmpty {
            kind = .patterns
            list = []
        } else if text == "*" {
            kind = .any
            list = []
        } else if text == "**" {
            kind = .echo
            list = []
        } else {
            kind = .list
            list = text.split(separator: ",").map { PluginText(String($0)) }
        }
    }

    /// The origin to answer with: the request's `origin` (a view into the request), `*`, or nil when
    /// the origin is not allowed.
    @inline(__always)
    func allowed(
        _ origin: UnsafeRawBufferPointer?,
        request: PluginRequest,
        workspace: RegexWorkspace?
    ) -> UnsafeRawBufferPointer? {
        switch kind {
        case .any:
            return UnsafeRawBufferPointer("*")
        case .echo:
            return origin ?? UnsafeRawBufferPointer("*")
        case .list:
            guard let origin else { return nil }
            // Index loops: a for-in over the array's iterator allocates in unoptimised builds.
            var index = 0
            while index < list.count {
                let item = list[index].bytes
                if item.count == origin.count
                    && (item.count == 0 || memcmp(item.baseAddress!, origin.baseAddress!, item.count) == 0)
                {
                    return origin
                }
                index &+= 1
            }
            return nil
        case .patterns:
            guard let origin, let block = workspace?.block(request.worker) else { return nil }
            var index = 0
            while index < regexes.count {
                if regexes[index].matches(origin, in: block) { return origin }
                index &+= 1
            }
            return nil
        }
    }

    /// Whether `text` matches APISIX's `^(\*|\*\*|null|\w+://[^,]+(,\w+://[^,]+)*)$`.
    static func isValid(_ text: String) -> Bool {
        if text == "*" || text == "**" || text == "null" { return true }
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
        return items.allSatisfy { item in
            let bytes = Array(item.utf8)
            var scheme = 0
            while scheme < bytes.count, isWordByte(bytes[scheme]) { scheme += 1 }
            guard scheme > 0, bytes.count > scheme + 3, bytes[scheme] == UInt8(ascii: ":"),
                bytes[scheme + 1] == UInt8(ascii: "/"), bytes[scheme + 2] == UInt8(ascii: "/")
            else { return false }
            return true
        }
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
    }
}
