/// A JSON value as the Admin API reads, patches and writes resources.
///
/// Numbers keep their literal text, so `1` stays `1` and `0.10` stays `0.10` through a read-modify-write; objects
/// are unordered and serialize with sorted keys, so the same value always has the same text.
package enum AdminJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number as it was written (already checked against the JSON number grammar).
    case number(String)
    case string(String)
    case array([AdminJSON])
    case object([String: AdminJSON])

    /// A JSON number from an integer.
    package static func integer(_ value: Int64) -> AdminJSON { .number(String(value)) }

    /// The members, when this is an object.
    package var object: [String: AdminJSON]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The text, when this is a string.
    package var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The value as an integer, when this is a number without fraction or exponent that fits.
    package var integer: Int64? {
        if case .number(let text) = self { return Int64(text) }
        return nil
    }

    /// The member `key`, when this is an object that has it.
    package subscript(key: String) -> AdminJSON? {
        object?[key]
    }

    /// How an id-like value reads as a path segment: a string as is, a number as written; `nil` for other types.
    ///
    /// APISIX compares ids as strings, so `"upstream_id": 1` names upstream `"1"`.
    package var idText: String? {
        switch self {
        case .string(let text): return text
        case .number(let text): return text
        default: return nil
        }
    }

    /// The JSON type's name, for error messages.
    package var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// The compact JSON text (UTF-8), object keys sorted.
    package var encoded: [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        append(to: &output)
        return output
    }

    /// The compact JSON text, object keys sorted.
    package var text: String { String(decoding: encoded, as: UTF8.self) }

    /// Appends the compact JSON text of this value to `output`.
    package func append(to output: inout [UInt8]) {
        switch self {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let value): output.append(contentsOf: (value ? "true" : "false").utf8)
        case .number(let text): output.append(contentsOf: text.utf8)
        case .string(let text): Self.appendString(text, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                element.append(to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                Self.appendString(key, to: &output)
                output.append(UInt8(ascii: ":"))
                members[key]!.append(to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static func appendString(_ text: String, to output: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): output.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): output.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): output.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): output.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                output.append(contentsOf: #"\u00"#.utf8)
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 0xF)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
