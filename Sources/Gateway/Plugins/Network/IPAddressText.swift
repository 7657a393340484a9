import AccessLog

/// Parses textual IP addresses from request bytes (a header, a query argument) into ``ClientAddress``
/// without allocating: dotted-quad IPv4, RFC 4291 IPv6 text (with `::` and a trailing dotted quad),
/// and the `address:port` / `[IPv6]:port` forms proxies write into `X-Forwarded-For`.
///
/// The rules follow `inet_pton`: IPv4 octets are 1–3 decimal digits without leading zeros, IPv6
/// groups 1–4 hex digits; zone ids (`fe80::1%eth0`) are refused.
package enum IPAddressText {
    /// The address in `text`, with an optional port (`1.2.3.4:80`, `[::1]:80`) that must be 1–65535
    /// and is dropped; nil when `text` (after trimming spaces and tabs) is anything else.
    package static func parseWithOptionalPort(_ text: UnsafeRawBufferPointer) -> ClientAddress? {
        var lower = 0
        var upper = text.count
        while lower < upper && (text[lower] == 0x20 || text[lower] == 0x09) { lower &+= 1 }
        while upper > lower && (text[upper &- 1] == 0x20 || text[upper &- 1] == 0x09) { upper &-= 1 }
        guard lower < upper else { return nil }
        let trimmed = UnsafeRawBufferPointer(rebasing: text[lower..<upper])
        if trimmed[0] == UInt8(ascii: "[") {
            var close = 1
            while close < trimmed.count && trimmed[close] != UInt8(ascii: "]") { close &+= 1 }
            guard close < trimmed.count else { return nil }
            let rest = close &+ 1
            if rest < trimmed.count {
                guard trimmed[rest] == UInt8(ascii: ":"),
                    validPort(UnsafeRawBufferPointer(rebasing: trimmed[(rest &+ 1)...]))
                else { return nil }
            }
            return parseIPv6(UnsafeRawBufferPointer(rebasing: trimmed[1..<close]))
        }
        var colons = 0
        var lastColon = -1
        for index in 0..<trimmed.count where trimmed[index] == UInt8(ascii: ":") {
            colons &+= 1
            lastColon = index
        }
        switch colons {
        case 0:
            return parseIPv4(trimmed)
        case 1:
            guard validPort(UnsafeRawBufferPointer(rebasing: trimmed[(lastColon &+ 1)...])) else { return nil }
            return parseIPv4(UnsafeRawBufferPointer(rebasing: trimmed[..<lastColon]))
        default:
            return parseIPv6(trimmed)
        }
    }

    /// An IPv4 or IPv6 address with nothing around it, or nil.
    package static func parse(_ text: UnsafeRawBufferPointer) -> ClientAddress? {
        var colon = false
        for byte in text where byte == UInt8(ascii: ":") { colon = true }
        return colon ? parseIPv6(text) : parseIPv4(text)
    }

    /// A dotted-quad IPv4 address, or nil.
    package static func parseIPv4(_ text: UnsafeRawBufferPointer) -> ClientAddress? {
        guard let value = ipv4Value(text) else { return nil }
        return ClientAddress(
            ipv4: (
                UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
                UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)
            )
        )
    }

    /// An IPv6 address, or nil.
    package static func parseIPv6(_ text: UnsafeRawBufferPointer) -> ClientAddress? {
        var words: (UInt64, UInt64) = (0, 0)
        let parsed = withUnsafeMutableBytes(of: &words) { bytes in
            ipv6Bytes(text, into: bytes)
        }
        guard parsed else { return nil }
        return withUnsafeBytes(of: &words) { ClientAddress(bytes: $0) }
    }

    // MARK: - Pieces

    /// The address as a host-order integer, or nil.
    static func ipv4Value(_ text: UnsafeRawBufferPointer) -> UInt32? {
        var value: UInt32 = 0
        var index = 0
        for octetIndex in 0..<4 {
            var digits = 0
            var octet: UInt32 = 0
            while index < text.count, text[index] &- 0x30 < 10 {
                // "01" is refused, as inet_pton does: leading zeros once meant octal.
                if digits == 1 && octet == 0 { return nil }
                octet = octet &* 10 &+ UInt32(text[index] &- 0x30)
                digits &+= 1
                index &+= 1
                if digits > 3 { return nil }
            }
            guard digits > 0, octet <= 255 else { return nil }
            value = value << 8 | octet
            if octetIndex < 3 {
                guard index < text.count, text[index] == UInt8(ascii: ".") else { return nil }
                index &+= 1
            }
        }
        return index == text.count ? value : nil
    }

    /// Writes the 16 bytes of the IPv6 address in `text` into `output`; false when it is not one.
    static func ipv6Bytes(_ text: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Bool {
        let count = text.count
        guard count >= 2 else { return false }
        var written = 0
        var gap = -1
        var index = 0
        if text[0] == UInt8(ascii: ":") {
            guard text[1] == UInt8(ascii: ":") else { return false }
            gap = 0
            index = 2
            if index == count {
                for byte in 0..<16 { output[byte] = 0 }
                return true
            }
        }
        while index < count {
            guard written < 16 else { return false }
            var group: UInt32 = 0
            var digits = 0
            let start = index
            while index < count, let digit = HTTPBytes.hexValue(text[index]) {
                group = group << 4 | UInt32(digit)
                digits &+= 1
                index &+= 1
                if digits > 4 { return false }
            }
            if index < count && text[index] == UInt8(ascii: ".") {
                // A trailing dotted quad fills the last 32 bits.
                guard written <= 12, let value = ipv4Value(UnsafeRawBufferPointer(rebasing: text[start..<count]))
                else { return false }
                output[written] = UInt8(truncatingIfNeeded: value >> 24)
                output[written &+ 1] = UInt8(truncatingIfNeeded: value >> 16)
                output[written &+ 2] = UInt8(truncatingIfNeeded: value >> 8)
                output[written &+ 3] = UInt8(truncatingIfNeeded: value)
                written &+= 4
                index = count
                break
            }
            guard digits > 0 else { return false }
            output[written] = UInt8(truncatingIfNeeded: group >> 8)
            output[written &+ 1] = UInt8(truncatingIfNeeded: group)
            written &+= 2
            if index == count { break }
            guard text[index] == UInt8(ascii: ":") else { return false }
            index &+= 1
            if index < count && text[index] == UInt8(ascii: ":") {
                guard gap < 0 else { return false }
                gap = written
                index &+= 1
                if index == count { break }
            } else if index == count {
                return false
            }
        }
        if gap >= 0 {
            guard written < 16 else { return false }
            // Move what followed `::` to the end and zero the gap.
            let tail = written &- gap
            var moved = 0
            while moved < tail {
                output[15 &- moved] = output[written &- 1 &- moved]
                moved &+= 1
            }
            var zero = gap
            while zero < 16 &- tail {
                output[zero] = 0
                zero &+= 1
            }
            return true
        }
        return written == 16
    }

    /// Whether `text` is a port number from 1 to 65535.
    private static func validPort(_ text: UnsafeRawBufferPointer) -> Bool {
        guard !text.isEmpty, text.count <= 5 else { return false }
        var value = 0
        for byte in text {
            guard byte &- 0x30 < 10 else { return false }
            value = value &* 10 &+ Int(byte &- 0x30)
        }
        return value >= 1 && value <= 65535
    }
}
