/// Changes plugins asked for, as records in a byte area: header additions, replacements and removals
/// for the upstream request and for the response, and a new URI, Host or method.
///
/// The head writers read them while writing heads (``HTTPProxyHeads``, ``GatewayResponses``); nothing
/// is copied or allocated. A record is `[op][0][name length: 2][value length: 2][name][value]`.
package struct PluginEdits {
    /// What a record does.
    package enum Operation: UInt8 {
        case requestAdd = 1
        case requestSet, requestRemove
        case responseAdd, responseSet, responseRemove
        /// The upstream request's target (path and query), as written.
        case uri
        /// The upstream request's Host.
        case host
        /// The upstream request's method.
        case method
        /// A query argument dropped from the upstream request's target.
        case removeQueryArgument
        /// The gateway does not add its own `X-Request-Id` to the response (an upstream's still passes):
        /// `request-id` with another `header_name` or without `include_in_response`. No name or value.
        case omitRequestID
    }

    package static let recordHeader = 6

    /// The records, or an empty area.
    package let bytes: UnsafeRawBufferPointer
    /// Operations present, as a bit set of raw values.
    package let operations: UInt16

    /// No edits.
    package static var none: PluginEdits {
        PluginEdits(bytes: UnsafeRawBufferPointer(start: nil, count: 0), operations: 0)
    }

    package init(bytes: UnsafeRawBufferPointer, operations: UInt16) {
        self.bytes = bytes
        self.operations = operations
    }

    @inline(__always)
    package func has(_ operation: Operation) -> Bool { operations & (1 << UInt16(operation.rawValue)) != 0 }

    /// Whether any request-side change was asked for.
    @inline(__always)
    package var changesRequest: Bool { operations & 0b111_1000_1110 != 0 }

    /// Whether any response header change was asked for.
    @inline(__always)
    package var changesResponse: Bool { operations & 0b111_0000 != 0 }

    /// Calls `body` with each record in the order it was made.
    @inline(__always)
    package func forEachRecord(_ body: (Operation, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        var offset = 0
        while offset + Self.recordHeader <= bytes.count {
            let op = Operation(rawValue: bytes[offset]) ?? .requestAdd
            let nameLength = Int(bytes.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self))
            let valueLength = Int(bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self))
            let nameStart = offset + Self.recordHeader
            let name = UnsafeRawBufferPointer(rebasing: bytes[nameStart..<nameStart + nameLength])
            let value = UnsafeRawBufferPointer(
                rebasing: bytes[nameStart + nameLength..<nameStart + nameLength + valueLength]
            )
            body(op, name, value)
            offset = nameStart + nameLength + valueLength
        }
    }

    /// The value of the last record of `operation` (URI, Host, method), or nil.
    package func last(_ operation: Operation) -> UnsafeRawBufferPointer? {
        guard has(operation) else { return nil }
        var found: UnsafeRawBufferPointer?
        forEachRecord { op, _, value in if op == operation { found = value } }
        return found
    }

    /// Whether a header named `name` (of the request or the response) is removed or replaced.
    @inline(__always)
    package func drops(response: Bool, source: UnsafeRawBufferPointer, name: Range<Int>) -> Bool {
        let remove: Operation = response ? .responseRemove : .requestRemove
        let replace: Operation = response ? .responseSet : .requestSet
        guard has(remove) || has(replace) else { return false }
        let candidate = UnsafeRawBufferPointer(rebasing: source[name])
        var dropped = false
        forEachRecord { op, editName, _ in
            if !dropped && (op == remove || op == replace) && HTTPBytes.equalsIgnoringCase(candidate, editName) {
                dropped = true
            }
        }
        return dropped
    }

    /// Whether the response header named by a lower-case literal is removed or replaced.
    @inline(__always)
    package func dropsResponseHeader(_ lowercaseName: StaticString) -> Bool {
        drops(lowercaseName, remove: .responseRemove, replace: .responseSet)
    }

    /// Whether the request header named by a lower-case literal is removed or replaced.
    @inline(__always)
    package func dropsRequestHeader(_ lowercaseName: StaticString) -> Bool {
        drops(lowercaseName, remove: .requestRemove, replace: .requestSet)
    }

    @inline(__always)
    private func drops(_ lowercaseName: StaticString, remove: Operation, replace: Operation) -> Bool {
        guard has(remove) || has(replace) else { return false }
        var dropped = false
        forEachRecord { op, editName, _ in
            if !dropped && (op == remove || op == replace)
                && HTTPBytes.equalsIgnoringCase(editName, 0..<editName.count, lowercaseName)
            {
                dropped = true
            }
        }
        return dropped
    }

    /// Writes the added and replacing header lines of the request or the response.
    @inline(__always)
    package func writeHeaders(response: Bool, into writer: inout HTTPHeadWriter) {
        let add: Operation = response ? .responseAdd : .requestAdd
        let replace: Operation = response ? .responseSet : .requestSet
        guard has(add) || has(replace) else { return }
        let remove: Operation = response ? .responseRemove : .requestRemove
        var offset = 0
        forEachRecord { op, name, value in
            defer { offset += Self.recordHeader + name.count + value.count }
            guard op == add || op == replace else { return }
            // A later set or remove of the same header wins over this set (the last plugin decides).
            if op == replace
                && overridden(name, after: offset + Self.recordHeader + name.count + value.count, replace, remove)
            {
                return
            }
            writer.append(name)
            writer.appendStatic(": ")
            writer.append(value)
            writer.appendStatic("\r\n")
        }
    }

    /// Whether a record after `offset` sets or removes the header `name`.
    private func overridden(
        _ name: UnsafeRawBufferPointer,
        after offset: Int,
        _ replace: Operation,
        _ remove: Operation
    ) -> Bool {
        let rest = PluginEdits(bytes: UnsafeRawBufferPointer(rebasing: bytes[offset...]), operations: operations)
        var found = false
        rest.forEachRecord { op, other, _ in
            if !found && (op == replace || op == remove) && HTTPBytes.equalsIgnoringCase(other, name) { found = true }
        }
        return found
    }

    /// Whether the query argument `name` (the bytes before `=`) is dropped.
    package func dropsQueryArgument(_ name: UnsafeRawBufferPointer) -> Bool {
        guard has(.removeQueryArgument) else { return false }
        var dropped = false
        forEachRecord { op, editName, _ in
            if op == .removeQueryArgument && editName.elementsEqual(name) { dropped = true }
        }
        return dropped
    }
}
