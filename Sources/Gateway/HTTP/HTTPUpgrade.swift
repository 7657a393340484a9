/// Which `Upgrade` requests a route forwards (RFC 9110 §7.8), matched without allocating.
package enum HTTPUpgrade {
    /// Whether every comma-separated protocol token of `value` (an `Upgrade` header's value) is one of
    /// `allowed` (lower-case tokens separated by commas); false when `value` names none.
    package static func tokensAllowed(_ value: UnsafeRawBufferPointer, _ allowed: UnsafeRawBufferPointer) -> Bool {
        var any = false
        var start = 0
        while start <= value.count {
            var end = start
            while end < value.count && value[end] != UInt8(ascii: ",") { end &+= 1 }
            var low = start
            var high = end
            while low < high && (value[low] == 0x20 || value[low] == 0x09) { low &+= 1 }
            while high > low && (value[high - 1] == 0x20 || value[high - 1] == 0x09) { high &-= 1 }
            if high > low {
                guard listContains(allowed, UnsafeRawBufferPointer(rebasing: value[low..<high])) else { return false }
                any = true
            }
            start = end &+ 1
        }
        return any
    }

    /// Whether the lower-case comma-separated `list` holds `token` (compared case-insensitively).
    static func listContains(_ list: UnsafeRawBufferPointer, _ token: UnsafeRawBufferPointer) -> Bool {
        var start = 0
        while start < list.count {
            var end = start
            while end < list.count && list[end] != UInt8(ascii: ",") { end &+= 1 }
            if end - start == token.count {
                var equal = true
                for k in 0..<token.count where HTTPBytes.lowercased(token[k]) != list[start + k] {
                    equal = false
                    break
                }
                if equal { return true }
            }
            start = end &+ 1
        }
        return false
    }
}
