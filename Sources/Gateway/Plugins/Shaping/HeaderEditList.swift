import Yams

/// Header changes configured as APISIX 3.x writes them — `headers: {add: {name: value}, set: {name:
/// value}, remove: [name]}` — or in the older flat form `headers: {name: value}` (meaning set), for the
/// upstream request (`proxy-rewrite`) or the response (`response-rewrite`), values compiled as
/// ``ValueTemplate``s.
///
/// APISIX applies add, then set, then remove. Recorded edits are applied together when the head is
/// written, so that order is settled here: a header that is removed is neither added nor set, and one
/// that is set is not also added. On the request side, setting (or adding) `Host` changes the upstream
/// request's Host, as `proxy-rewrite`'s `host` does.
package final class HeaderEditList: @unchecked Sendable {
    private struct Entry {
        let operation: PluginEdits.Operation
        let name: PluginText
        let value: ValueTemplate?
    }

    private let entries: UnsafeMutablePointer<Entry>
    /// Number of edits.
    package let count: Int

    private init(_ entries: [Entry]) {
        count = entries.count
        self.entries = .allocate(capacity: max(1, entries.count))
        self.entries.initialize(from: entries, count: entries.count)
    }

    deinit {
        entries.deinitialize(count: count)
        entries.deallocate()
    }

    /// Records the edits on `request`, rendering values with `captures` (the `regex_uri` match, if any).
    /// False when the request's edit area or the scratch buffer ran out (the request should fail).
    package func apply(_ request: PluginRequest, captures: RegexCaptures?) -> Bool {
        var index = 0
        while index < count {
            let entry = entries[index]
            index &+= 1
            guard let value = entry.value else {
                guard request.record(entry.operation, name: entry.name.bytes, value: UnsafeRawBufferPointer("")) else {
                    return false
                }
                continue
            }
            if value.isLiteral {
                guard request.record(entry.operation, name: entry.name.bytes, value: value.literalBytes) else {
                    return false
                }
                continue
            }
            var writer = ByteWriter(request.scratch)
            value.render(request, captures: captures, into: &writer)
            guard !writer.overflowed, request.record(entry.operation, name: entry.name.bytes, value: writer.bytes)
            else { return false }
        }
        return true
    }

    /// Reads `key` of `settings`; nil when it is absent or wrong (problems are reported with their key
    /// paths). `response` picks the response's operations; `groups` is how many `regex_uri` groups values
    /// may refer to (nil: none).
    static func read(
        _ settings: inout PluginSettings,
        _ key: String,
        response: Bool,
        phase: ValueTemplate.Phase,
        groups: Int?
    ) -> HeaderEditList? {
        guard let node = settings.yamlNode(key) else { return nil }
        guard case .mapping(let mapping) = node else {
            settings.report(
                key,
                "expected {add: {…}, set: {…}, remove: […]} or a mapping of header names to values, "
                    + "found \(ConfigReader.kind(node))"
            )
            return nil
        }
        let start = settings.issueCount
        var add: [(String, String)] = []
        var set: [(String, String)] = []
        var remove: [String] = []
        let actionForm = mapping.contains { pair in
            guard let name = pair.key.scalar?.string, ["add", "set", "remove"].contains(name) else { return false }
            switch pair.value {
            case .mapping, .sequence: return true
            default: return false
            }
        }
        if actionForm {
            guard var nested = settings.object(key, allowed: ["add", "set", "remove"]) else { return nil }
            add = nested.stringPairs("add") ?? []
            set = nested.stringPairs("set") ?? []
            remove = nested.stringList("remove") ?? []
            for (action, empty) in [("add", add.isEmpty), ("set", set.isEmpty), ("remove", remove.isEmpty)]
            where empty && nested.has(action) {
                nested.report(action, "must not be empty")
            }
            settings.merge(nested)
        } else {
            set = settings.stringPairs(key) ?? []
            if mapping.count == 0 { settings.report(key, "must not be empty") }
        }
        let prefix = actionForm ? "\(key)." : ""
        for (index, name) in remove.enumerated() where !Self.isValidName(name) {
            settings.report(below: "\(key).remove[\(index)]", "\"\(name)\" is not a valid header name")
        }
        if !response, remove.contains(where: { $0.lowercased() == "host" }) {
            settings.report(below: "\(key).remove", "the Host header cannot be removed")
        }
        let removed = Set(remove.map { $0.lowercased() })
        let replaced = Set(set.map { $0.0.lowercased() })
        var entries: [Entry] = []
        for (action, pairs) in [("add", add), ("set", set)] {
            for (name, text) in pairs {
                let path = actionForm ? "\(prefix)\(action).\(name)" : "\(key).\(name)"
                guard Self.isValidName(name) else {
                    settings.report(below: path, "\"\(name)\" is not a valid header name")
                    continue
                }
                guard !text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                    settings.report(below: path, "header values cannot contain line breaks or NUL")
                    continue
                }
                let lowered = name.lowercased()
                if removed.contains(lowered) || (action == "add" && replaced.contains(lowered)) { continue }
                let template: ValueTemplate
                do {
                    template = try ValueTemplate(text, phase: phase, syntax: .variables, groups: groups)
                } catch {
                    settings.report(below: path, error.description)
                    continue
                }
                let operation: PluginEdits.Operation
                if !response && lowered == "host" {
                    operation = .host
                } else if action == "add" {
                    operation = response ? .responseAdd : .requestAdd
                } else {
                    operation = response ? .responseSet : .requestSet
                }
                entries.append(
                    Entry(operation: operation, name: PluginText(operation == .host ? "" : name), value: template)
                )
            }
        }
        for name in remove {
            entries.append(
                Entry(operation: response ? .responseRemove : .requestRemove, name: PluginText(name), value: nil)
            )
        }
        if settings.issueCount > start { return nil }
        return HeaderEditList(entries)
    }

    /// Whether `name` is an HTTP field name (RFC 9110 token).
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { HTTPBytes.isTokenByte($0) }
    }
}
