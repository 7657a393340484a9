import Foundation
import Yams

extension ConfigReader {
    /// `node` with `${VAR}` and `${VAR:-default}` in every scalar value (never in keys) replaced from
    /// `environment`; `$${` stands for a literal `${`. `references` turns the tokens the text was composed with
    /// back into the references they hide.
    ///
    /// A plain (unquoted) scalar is typed again after substitution, so `port: ${PORT}` is an integer, exactly as
    /// if the value had been written in the file; a quoted one stays a string. A reference that cannot be
    /// expanded is reported at the scalar's key path, and other issues at that path are dropped: they would
    /// only describe the unexpanded text.
    mutating func substituteEnvironment(
        _ node: Node,
        at path: String,
        environment: [String: String],
        references: EnvironmentReferences = EnvironmentReferences()
    ) -> Node {
        switch node {
        case .scalar(let scalar):
            let original = references.restore(scalar.string)
            guard original.contains("${") else { return node }
            // An unresolved implicit tag has the empty name; anything else was written or is a quoted string.
            let tag = scalar.tag.rawValue.isEmpty ? Tag(.implicit) : Tag(Tag.Name(rawValue: scalar.tag.rawValue))
            switch Self.expand(original, environment: environment) {
            case .success(let text):
                return .scalar(Node.Scalar(text, tag, scalar.style, scalar.mark))
            case .failure(let failure):
                let path = path.isEmpty ? "(root)" : path
                issues.append(ConfigIssue(path: path, line: scalar.mark?.line, reason: failure.reason))
                unexpanded.insert(path)
                return .scalar(Node.Scalar(original, tag, scalar.style, scalar.mark))
            }
        case .mapping(let mapping):
            // Keys of an upstream's `nodes` map are addresses: the reader names them in brackets.
            let dataKeys = path == "nodes" || path.hasSuffix(".nodes")
            let pairs = mapping.map { key, value in
                var key = key
                if case .scalar(let scalar) = key, scalar.string != references.restore(scalar.string) {
                    key = .scalar(
                        Node.Scalar(references.restore(scalar.string), scalar.tag, scalar.style, scalar.mark)
                    )
                }
                let name = key.string ?? ""
                let keyPath: String
                if dataKeys || !Self.isPlainKey(name) {
                    keyPath = "\(path)[\"\(name)\"]"
                } else {
                    keyPath = path.isEmpty ? name : "\(path).\(name)"
                }
                let value = substituteEnvironment(value, at: keyPath, environment: environment, references: references)
                return (key, value)
            }
            return .mapping(Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark))
        case .sequence(let sequence):
            let items = sequence.enumerated().map { index, item in
                substituteEnvironment(item, at: "\(path)[\(index)]", environment: environment, references: references)
            }
            return .sequence(Node.Sequence(items, sequence.tag, sequence.style, sequence.mark))
        case .alias:
            return node
        }
    }

    /// Why a scalar's references could not be expanded.
    struct ExpansionFailure: Error, Equatable {
        var reason: String
    }

    /// Expands every `${VAR}` and `${VAR:-default}` in `text`; `$${` gives a literal `${`.
    ///
    /// `${VAR:-default}` takes the default when VAR is unset or empty, as a POSIX shell does; `${VAR}` with VAR
    /// set to the empty string gives the empty string. All unset variables of one value are named together.
    static func expand(_ text: String, environment: [String: String]) -> Result<String, ExpansionFailure> {
        var output = ""
        var unset: [String] = []
        var rest = text[...]
        while let dollar = rest.firstIndex(of: "$") {
            output += rest[..<dollar]
            let after = rest[dollar...]
            if after.hasPrefix("$${") {
                output += "${"
                rest = after.dropFirst(3)
                continue
            }
            guard after.hasPrefix("${") else {
                output += "$"
                rest = after.dropFirst()
                continue
            }
            let body = after.dropFirst(2)
            guard let close = body.firstIndex(of: "}") else {
                return .failure(
                    ExpansionFailure(reason: "\"${\" is not closed by \"}\" (write \"$${\" for a literal \"${\")")
                )
            }
            let reference = body[..<close]
            rest = body[body.index(after: close)...]
            let name: Substring
            let fallback: Substring?
            if let separator = reference.range(of: ":-") {
                name = reference[..<separator.lowerBound]
                fallback = reference[separator.upperBound...]
            } else {
                name = reference
                fallback = nil
            }
            guard isVariableName(name) else {
                return .failure(
                    ExpansionFailure(
                        reason:
                            "\"${\(reference)}\" is not a variable reference: use ${NAME} or ${NAME:-default}, NAME being letters, digits and \"_\" (write \"$${\" for a literal \"${\")"
                    )
                )
            }
            if let fallback, fallback.contains("${") {
                return .failure(
                    ExpansionFailure(reason: "the default of ${\(name)} may not refer to another variable")
                )
            }
            let value = environment[String(name)]
            if let fallback {
                output += value.flatMap { $0.isEmpty ? nil : $0 } ?? String(fallback)
            } else if let value {
                output += value
            } else if !unset.contains(String(name)) {
                unset.append(String(name))
            }
        }
        output += rest
        guard unset.isEmpty else {
            let names = unset.joined(separator: ", ")
            let hint = " (set it, or give a default: ${\(unset[0]):-value})"
            return .failure(
                ExpansionFailure(
                    reason: unset.count == 1
                        ? "environment variable \(names) is not set\(hint)"
                        : "environment variables \(names) are not set\(hint)"
                )
            )
        }
        return .success(output)
    }

    /// A POSIX shell variable name: a letter or "_", then letters, digits and "_".
    private static func isVariableName(_ name: Substring) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
        }
    }

    /// Whether a key reads well after a dot in a key path (as `response_headers.X-Trace` does).
    private static func isPlainKey(_ name: String) -> Bool {
        !name.isEmpty
            && name.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: "-")
            }
    }
}
