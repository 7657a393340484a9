/// Reads one Redis reply (RESP2) from the front of a buffer, without allocating.
///
/// A worker keeps the bytes its Redis connection has received and calls ``parse(_:)`` after each read:
///
/// - `nil`: the bytes do not hold a whole reply yet. Keep them, read more, parse again from the start.
/// - `(reply, consumed)` with `consumed > 0`: one reply, `consumed` bytes long; drop them and parse again
///   for the next pipelined reply.
/// - `(.error(.other), -1)`, i.e. any negative `consumed` (``malformed``): the stream is not RESP2 (or
///   holds a reply the gateway never asks for, such as RESP3 types). The connection cannot be resynchronised:
///   close it and fail every command waiting on it.
///
/// Limits that mark a stream malformed rather than wait forever: a status or error line longer than
/// ``maximumLineLength``, a length or integer line longer than 21 characters, a bulk string longer than
/// 512 MiB, an array of more than `Int32.max` elements.
package enum RESPParser {
    /// The `consumed` that signals a malformed stream (with `.error(.other)`).
    package static let malformed = -1

    /// The longest status or error line accepted, CRLF excluded.
    package static let maximumLineLength = 65_536

    /// Parses the reply at the start of `bytes`; see the type's documentation for the three outcomes.
    package static func parse(_ bytes: UnsafeRawBufferPointer) -> (reply: RESPReply, consumed: Int)? {
        let step = element(bytes, at: 0)
        switch step {
        case .incomplete:
            return nil
        case .malformed:
            return (.error(.other), malformed)
        case .element(let element, let next):
            switch element {
            case .simple:
                return (.simple, next)
            case .error(let kind):
                return (.error(kind), next)
            case .integer(let value):
                return (.integer(value), next)
            case .bulk(let length, _):
                return (.bulk(length: length), next)
            case .array(let count):
                return array(bytes, count: count, from: next)
            }
        }
    }

    // MARK: - Elements

    /// One element's header, all a caller needs of it.
    private enum Element {
        case simple
        case error(RESPErrorKind)
        case integer(Int64)
        /// `value`: the bulk string's content as a decimal integer, when it is one.
        case bulk(length: Int, value: Int64?)
        /// The array's elements follow (none for -1 and 0).
        case array(count: Int)
    }

    private enum Step {
        case incomplete
        case malformed
        /// An element, and where the next one starts (after an array: where its first element starts).
        case element(Element, next: Int)
    }

    /// The top-level array's elements from `offset`: the first three read as integers when they are,
    /// the rest (and nested arrays) skipped.
    private static func array(
        _ bytes: UnsafeRawBufferPointer,
        count: Int,
        from start: Int
    ) -> (reply: RESPReply, consumed: Int)? {
        var offset = start
        var values: (Int64, Int64, Int64) = (0, 0, 0)
        var allIntegers = count > 0
        for index in 0..<max(count, 0) {
            switch element(bytes, at: offset) {
            case .incomplete:
                return nil
            case .malformed:
                return (.error(.other), malformed)
            case .element(let element, let next):
                offset = next
                var value: Int64?
                switch element {
                case .integer(let integer):
                    value = integer
                case .bulk(_, let integer):
                    value = integer
                case .array(let nested):
                    guard let end = skip(bytes, elements: nested, from: offset) else { return nil }
                    guard end >= 0 else { return (.error(.other), malformed) }
                    offset = end
                case .simple, .error:
                    break
                }
                if index < 3 {
                    if let value {
                        switch index {
                        case 0: values.0 = value
                        case 1: values.1 = value
                        default: values.2 = value
                        }
                    } else {
                        allIntegers = false
                    }
                }
            }
        }
        if allIntegers {
            return (.integers(count: count, first: values.0, second: values.1, third: values.2), offset)
        }
        return (.array(count: count), offset)
    }

    /// Skips `elements` elements from `offset`, nested arrays included, without recursion: each nested
    /// array adds its elements to those still to skip. Returns the end, nil when incomplete, or
    /// ``malformed``.
    private static func skip(_ bytes: UnsafeRawBufferPointer, elements: Int, from start: Int) -> Int? {
        var pending = max(elements, 0)
        var offset = start
        while pending > 0 {
            switch element(bytes, at: offset) {
            case .incomplete:
                return nil
            case .malformed:
                return malformed
            case .element(let element, let next):
                pending -= 1
                offset = next
                if case .array(let nested) = element, nested > 0 { pending += nested }
            }
        }
        return offset
    }

    /// The element whose type byte is at `offset`.
    private static func element(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Step {
        guard offset < bytes.count else { return .incomplete }
        let type = bytes[offset]
        switch type {
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let end = lineEnd(bytes, from: offset + 1, limit: maximumLineLength) else { return .incomplete }
            guard end >= 0 else { return .malformed }
            if type == UInt8(ascii: "+") { return .element(.simple, next: end + 2) }
            return .element(.error(errorKind(bytes, from: offset + 1, to: end)), next: end + 2)
        case UInt8(ascii: ":"):
            guard let end = lineEnd(bytes, from: offset + 1, limit: 21) else { return .incomplete }
            guard end >= 0, let value = integer(bytes, from: offset + 1, to: end) else { return .malformed }
            return .element(.integer(value), next: end + 2)
        case UInt8(ascii: "$"):
            guard let end = lineEnd(bytes, from: offset + 1, limit: 21) else { return .incomplete }
            guard end >= 0, let length = integer(bytes, from: offset + 1, to: end),
                length >= -1, length <= 512 * 1024 * 1024
            else { return .malformed }
            if length == -1 { return .element(.bulk(length: -1, value: nil), next: end + 2) }
            let body = end + 2
            let bodyEnd = body + Int(length)
            guard bodyEnd + 2 <= bytes.count else { return .incomplete }
            guard bytes[bodyEnd] == UInt8(ascii: "\r"), bytes[bodyEnd + 1] == UInt8(ascii: "\n") else {
                return .malformed
            }
            let value = length <= 20 ? integer(bytes, from: body, to: bodyEnd) : nil
            return .element(.bulk(length: Int(length), value: value), next: bodyEnd + 2)
        case UInt8(ascii: "*"):
            guard let end = lineEnd(bytes, from: offset + 1, limit: 21) else { return .incomplete }
            guard end >= 0, let count = integer(bytes, from: offset + 1, to: end), count >= -1,
                count <= Int64(Int32.max)
            else { return .malformed }
            return .element(.array(count: Int(count)), next: end + 2)
        default:
            return .malformed
        }
    }

    /// The offset of the CR ending the line that starts at `start`: nil while the CRLF has not arrived
    /// (and the line is within `limit` bytes), ``malformed`` for a line too long or a CR without its LF.
    private static func lineEnd(_ bytes: UnsafeRawBufferPointer, from start: Int, limit: Int) -> Int? {
        var index = start
        let last = min(bytes.count, start + limit + 1)
        while index < last {
            if bytes[index] == UInt8(ascii: "\r") {
                guard index + 1 < bytes.count else { return nil }
                return bytes[index + 1] == UInt8(ascii: "\n") ? index : malformed
            }
            index += 1
        }
        return bytes.count > start + limit ? malformed : nil
    }

    /// The decimal integer (optionally negative) in `start..<end`; nil when empty, not digits, or beyond Int64.
    private static func integer(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int64? {
        var index = start
        let negative = index < end && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < end else { return nil }
        // Accumulated as a negative number: Int64.min has no positive counterpart.
        var value: Int64 = 0
        while index < end {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.subtractingReportingOverflow(Int64(digit))
            guard !overflow, !overflow2 else { return nil }
            value = next
            index += 1
        }
        if negative { return value }
        return value == .min ? nil : -value
    }

    /// Sorts an error line (after the `-`) by its leading code.
    private static func errorKind(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> RESPErrorKind {
        if hasPrefix(bytes, start, end, "NOSCRIPT") { return .noScript }
        if hasPrefix(bytes, start, end, "NOAUTH") || hasPrefix(bytes, start, end, "WRONGPASS")
            || hasPrefix(bytes, start, end, "ERR invalid password")
        {
            return .authentication
        }
        return .other
    }

    private static func hasPrefix(
        _ bytes: UnsafeRawBufferPointer,
        _ start: Int,
        _ end: Int,
        _ prefix: StaticString
    ) -> Bool {
        prefix.withUTF8Buffer { text in
            guard end - start >= text.count else { return false }
            for index in 0..<text.count where bytes[start + index] != text[index] {
                return false
            }
            return true
        }
    }
}
