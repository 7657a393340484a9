import Foundation
import Yams

/// The string-keyed entries of one YAML mapping, with the key path they were read from.
struct ConfigFields {
    /// Key path of the mapping itself ("" at the root).
    let path: String
    /// The mapping node, for the line of "missing key" issues.
    let node: Node
    /// Entries by key.
    let values: [String: Node]

    subscript(key: String) -> Node? {
        values[key]
    }

    /// Key path of one entry.
    func path(_ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }
}

/// Reads values out of a composed YAML tree, recording every problem with its key path instead of throwing.
struct ConfigReader {
    /// Problems found so far.
    var issues: [ConfigIssue] = []
    /// Things that load but deserve a look (an expired certificate): printed by `gateway check` and logged
    /// at start and at each reload, never a refusal.
    var warnings: [ConfigIssue] = []
    /// Whether upstream node hosts are resolved (with getaddrinfo) while reading.
    var resolveHostnames = false
    /// Resolution results by host, so a host named by many nodes is looked up once.
    var resolved: [String: Result<[ResolvedAddress], UpstreamNode.ResolutionError>] = [:]
    /// Key paths whose `${VAR}` could not be expanded: already reported, so nothing more is said about them.
    var unexpanded: Set<String> = []

    mutating func report(_ path: String, _ node: Node?, _ reason: String) {
        let path = path.isEmpty ? "(root)" : path
        guard !unexpanded.contains(path) else { return }
        issues.append(ConfigIssue(path: path, line: node?.mark?.line, reason: reason))
    }

    /// Records a warning at `path`: the configuration still loads.
    mutating func warn(_ path: String, _ node: Node?, _ reason: String) {
        warnings.append(ConfigIssue(path: path.isEmpty ? "(root)" : path, line: node?.mark?.line, reason: reason))
    }

    /// Reads a mapping, reporting non-string keys and keys outside `allowed`.
    mutating func fields(_ node: Node, at path: String, allowed: [String]) -> ConfigFields? {
        guard case .mapping(let mapping) = node else {
            report(path, node, "expected a mapping (key: value pairs), found \(Self.kind(node))")
            return nil
        }
        var values: [String: Node] = [:]
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                report(path, key, "keys must be plain strings")
                continue
            }
            let name = scalar.string
            let keyPath = path.isEmpty ? name : "\(path).\(name)"
            guard allowed.contains(name) else {
                report(keyPath, key, "unknown key \"\(name)\"\(Self.suggestion(for: name, in: allowed))")
                continue
            }
            values[name] = value
        }
        return ConfigFields(path: path, node: node, values: values)
    }

    /// Reports a missing required key at the mapping's line.
    mutating func missing(_ fields: ConfigFields, _ key: String, _ hint: String = "") {
        report(fields.path(key), fields.node, "required key is missing\(hint)")
    }

    // MARK: Scalars

    /// A string; numbers are taken as written (so `id: 1` works), booleans and nulls are rejected.
    mutating func string(_ node: Node, at path: String) -> String? {
        guard case .scalar(let scalar) = node else {
            report(path, node, "expected a string, found \(Self.kind(node))")
            return nil
        }
        let tag = node.tagName
        guard tag != .null, tag != .bool else {
            report(path, node, "expected a string, found \(Self.kind(node)); quote it if you mean the text")
            return nil
        }
        return scalar.string
    }

    /// A non-empty string.
    mutating func nonEmptyString(_ node: Node, at path: String) -> String? {
        guard let text = string(node, at: path) else { return nil }
        guard !text.isEmpty else {
            report(path, node, "must not be empty")
            return nil
        }
        return text
    }

    mutating func int(_ node: Node, at path: String, in range: ClosedRange<Int>) -> Int? {
        guard case .scalar = node, node.tagName == .int, let value = node.int else {
            report(path, node, "expected an integer, found \(Self.kind(node))")
            return nil
        }
        guard range.contains(value) else {
            report(path, node, "must be \(Self.describe(range)), not \(value)")
            return nil
        }
        return value
    }

    mutating func bool(_ node: Node, at path: String) -> Bool? {
        guard case .scalar = node, node.tagName == .bool, let value = node.bool else {
            report(path, node, "expected true or false, found \(Self.kind(node))")
            return nil
        }
        return value
    }

    /// Seconds as a number (fractions allowed) or a string with a unit: "250ms", "10s", "5m", "1h".
    mutating func duration(_ node: Node, at path: String, allowZero: Bool = false) -> Duration? {
        guard case .scalar(let scalar) = node else {
            report(path, node, "expected a duration in seconds, found \(Self.kind(node))")
            return nil
        }
        var seconds: Double?
        if node.tagName == .int || node.tagName == .float {
            seconds = node.float
        } else if node.tagName == .str {
            seconds = Self.durationWithUnit(scalar.string)
        }
        guard let seconds, seconds.isFinite else {
            report(
                path,
                node,
                "expected a duration in seconds such as 10 or 0.5 (or \"250ms\", \"5m\"), found \(Self.kind(node))"
            )
            return nil
        }
        guard seconds > 0 || (allowZero && seconds == 0) else {
            report(path, node, "must be \(allowZero ? "zero or more" : "more than zero") seconds, not \(scalar.string)")
            return nil
        }
        guard seconds <= 31_536_000 else {
            report(path, node, "must be at most one year (31536000 seconds), not \(scalar.string)")
            return nil
        }
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// Bytes as an integer or a string with a binary unit: "512k", "10m", "1g" (optionally "kb", "mb", "gb").
    mutating func size(_ node: Node, at path: String, allowZero: Bool) -> Int64? {
        guard case .scalar(let scalar) = node else {
            report(path, node, "expected a size in bytes, found \(Self.kind(node))")
            return nil
        }
        var bytes: Int64?
        if node.tagName == .int, let value = node.int {
            bytes = Int64(value)
        } else if node.tagName == .str {
            bytes = Self.sizeWithUnit(scalar.string)
        }
        guard let bytes else {
            report(
                path,
                node,
                "expected a size in bytes such as 1048576 or \"512k\", \"10m\", \"1g\", found \(Self.kind(node))"
            )
            return nil
        }
        guard bytes > 0 || (allowZero && bytes == 0) else {
            report(path, node, "must be \(allowZero ? "zero or more" : "more than zero") bytes, not \(scalar.string)")
            return nil
        }
        return bytes
    }

    /// A value from a closed set of names.
    mutating func choice<T: RawRepresentable & CaseIterable>(_ node: Node, at path: String, as type: T.Type) -> T?
    where T.RawValue == String {
        guard let text = string(node, at: path) else { return nil }
        guard let value = T(rawValue: text) else {
            let names = T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            report(path, node, "\"\(text)\" is not one of \(names)")
            return nil
        }
        return value
    }

    /// A sequence's items with their paths; a single scalar is taken as a one-item list when `allowSingle`.
    mutating func list(_ node: Node, at path: String, allowSingle: Bool) -> [(node: Node, path: String)]? {
        if case .sequence(let sequence) = node {
            return sequence.enumerated().map { ($0.element, "\(path)[\($0.offset)]") }
        }
        if allowSingle, case .scalar = node, node.tagName != .null {
            return [(node, path)]
        }
        report(path, node, "expected a list\(allowSingle ? " or a single value" : ""), found \(Self.kind(node))")
        return nil
    }

    // MARK: Helpers

    static func kind(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            switch node.tagName {
            case .null: return "null"
            case .bool: return "a boolean (\(scalar.string))"
            case .int: return "an integer (\(scalar.string))"
            case .float: return "a number (\(scalar.string))"
            default: return "a string (\"\(scalar.string)\")"
            }
        }
    }

    private static func describe(_ range: ClosedRange<Int>) -> String {
        if range.upperBound == Int.max { return "at least \(range.lowerBound)" }
        return "from \(range.lowerBound) to \(range.upperBound)"
    }

    private static func durationWithUnit(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (unit, factor) in units where text.hasSuffix(unit) {
            guard let value = Double(text.dropLast(unit.count)) else { return nil }
            return value * factor
        }
        return nil
    }

    private static func sizeWithUnit(_ text: String) -> Int64? {
        var lowered = text.lowercased()
        if lowered.hasSuffix("b") {
            lowered.removeLast()
        }
        let factors: [Character: Int64] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30]
        var factor: Int64 = 1
        if let last = lowered.last, let unit = factors[last] {
            factor = unit
            lowered.removeLast()
        }
        guard !lowered.isEmpty, lowered.allSatisfy(\.isNumber), let value = Int64(lowered) else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: factor)
        return overflow ? nil : product
    }

    /// " (did you mean \"x\"?)" when a known key is one or two edits away.
    static func suggestion(for key: String, in allowed: [String]) -> String {
        let candidates = allowed.filter { editDistance($0, key) <= 2 }
        guard let best = candidates.min(by: { editDistance($0, key) < editDistance($1, key) }) else { return "" }
        return " (did you mean \"\(best)\"?)"
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}

extension Node {
    /// The resolved tag's name (Yams keeps `Tag.name` internal).
    var tagName: Tag.Name {
        Tag.Name(rawValue: tag.rawValue)
    }
}
