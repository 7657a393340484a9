import Yams

/// One plugin's settings while they are read: typed accessors that report problems with their key path
/// (`routes[0].plugins.limit-count.count: must be at least 1, not 0`) and return nil for them.
package struct PluginSettings {
    var reader: ConfigReader
    let fields: ConfigFields
    /// Where the plugin is configured.
    package let scope: PluginScope
    /// What the plan being compiled offers plugins (consumers, shared state).
    package let context: PluginCompileContext
    /// The plugin's name.
    package let name: String
    /// The settings as text: with the scope and name, the identity of the plugin's shared state.
    package let text: String

    init(
        reader: ConfigReader,
        fields: ConfigFields,
        scope: PluginScope,
        context: PluginCompileContext,
        name: String,
        text: String
    ) {
        self.reader = reader
        self.fields = fields
        self.scope = scope
        self.context = context
        self.name = name
        self.text = text
    }

    /// State shared by every worker's use of this instance and kept across reloads that leave its
    /// scope and settings alone (``PluginCompileContext/sharedState(_:scope:settings:make:)``).
    package func sharedState<State: AnyObject & Sendable>(make: () -> State) -> State {
        context.sharedState(name, scope: scope, settings: text, make: make)
    }

    /// State shared by every instance of this plugin in `group` whose settings are `settings`, or nil when
    /// another instance joined the group with different ones
    /// (``PluginCompileContext/groupState(_:group:settings:make:)``).
    package func groupState<State: AnyObject & Sendable>(
        group: String,
        settings: String,
        make: () -> State
    ) -> State? {
        context.groupState(name, group: group, settings: settings, make: make)
    }

    /// The key path of the settings ("routes[0].plugins.key-auth").
    package var path: String { fields.path }

    /// Whether `key` is present.
    package func has(_ key: String) -> Bool { fields[key] != nil }

    /// Reports a problem with `key` (or with the settings as a whole when `key` is empty).
    package mutating func report(_ key: String, _ reason: String) {
        reader.report(key.isEmpty ? fields.path : fields.path(key), key.isEmpty ? fields.node : fields[key], reason)
    }

    /// Reports `key` as required and missing.
    package mutating func missing(_ key: String) {
        reader.missing(fields, key)
    }

    /// Whether problems were reported so far (by this plugin or before it).
    package var issueCount: Int { reader.issues.count }

    /// A string. A number is refused rather than read as its digits (`x_frame_options: 5`), as APISIX's
    /// schemas refuse it; quoted, it is text.
    package mutating func string(_ key: String) -> String? {
        guard let node = fields[key] else { return nil }
        return text(node, at: fields.path(key))
    }

    /// A string that is not empty.
    package mutating func nonEmptyString(_ key: String) -> String? {
        guard let node = fields[key], let text = text(node, at: fields.path(key)) else { return nil }
        guard !text.isEmpty else {
            reader.report(fields.path(key), node, "must not be empty")
            return nil
        }
        return text
    }

    /// `node` as a string, refusing numbers (and, in ``ConfigReader/string(_:at:)``, booleans and null).
    mutating func text(_ node: Node, at path: String) -> String? {
        if case .scalar = node, node.tagName == .int || node.tagName == .float {
            let found = ConfigReader.kind(node)
            reader.report(path, node, "expected a string, found \(found); quote it if you mean the text")
            return nil
        }
        return reader.string(node, at: path)
    }

    package mutating func int(_ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let node = fields[key] else { return nil }
        return reader.int(node, at: fields.path(key), in: range)
    }

    /// A number (integer or decimal) within `range`.
    package mutating func number(_ key: String, in range: ClosedRange<Double>) -> Double? {
        guard let node = fields[key] else { return nil }
        guard case .scalar = node, node.tagName == .int || node.tagName == .float, let value = node.float else {
            reader.report(fields.path(key), node, "expected a number, found \(ConfigReader.kind(node))")
            return nil
        }
        guard range.contains(value) else {
            reader.report(
                fields.path(key),
                node,
                "must be from \(range.lowerBound) to \(range.upperBound), not \(value)"
            )
            return nil
        }
        return value
    }

    package mutating func bool(_ key: String) -> Bool? {
        guard let node = fields[key] else { return nil }
        return reader.bool(node, at: fields.path(key))
    }

    /// One of `choices`, reported with the list when it is not.
    package mutating func choice(_ key: String, in choices: [String]) -> String? {
        guard let text = string(key) else { return nil }
        guard choices.contains(text) else {
            report(key, "must be one of \(choices.map { "\"\($0)\"" }.joined(separator: ", ")), not \"\(text)\"")
            return nil
        }
        return text
    }

    /// A list of strings (a single string counts as a list of one when `allowSingle`).
    package mutating func stringList(_ key: String, allowSingle: Bool = false) -> [String]? {
        guard let node = fields[key] else { return nil }
        guard let items = reader.list(node, at: fields.path(key), allowSingle: allowSingle) else { return nil }
        var result: [String] = []
        for item in items {
            guard let text = text(item.node, at: item.path) else { return nil }
            result.append(text)
        }
        return result
    }

    /// A list of integers within `range`.
    package mutating func intList(_ key: String, in range: ClosedRange<Int>) -> [Int]? {
        guard let node = fields[key] else { return nil }
        guard let items = reader.list(node, at: fields.path(key), allowSingle: false) else { return nil }
        var result: [Int] = []
        for item in items {
            guard let value = reader.int(item.node, at: item.path, in: range) else { return nil }
            result.append(value)
        }
        return result
    }

    /// A mapping of strings to strings in file order (header names to values, say). A value may be a
    /// number, as APISIX's header values may.
    package mutating func stringPairs(_ key: String) -> [(String, String)]? {
        guard let node = fields[key] else { return nil }
        guard case .mapping(let mapping) = node else {
            reader.report(
                fields.path(key),
                node,
                "expected a mapping of names to values, found \(ConfigReader.kind(node))"
            )
            return nil
        }
        var result: [(String, String)] = []
        for (name, value) in mapping {
            let text = name.scalar?.string ?? ""
            guard let string = reader.string(value, at: "\(fields.path(key)).\(text)") else { return nil }
            result.append((text, string))
        }
        return result
    }

    /// The nested mapping at `key`, with its own allowed keys.
    package mutating func object(_ key: String, allowed: [String]) -> PluginSettings? {
        guard let node = fields[key] else { return nil }
        guard let nested = reader.fields(node, at: fields.path(key), allowed: allowed) else { return nil }
        return PluginSettings(
            reader: reader,
            fields: nested,
            scope: scope,
            context: context,
            name: name,
            text: text
        )
    }

    /// Takes back the issues a nested ``object(_:allowed:)`` reported.
    package mutating func merge(_ nested: PluginSettings) {
        reader = nested.reader
    }
}
