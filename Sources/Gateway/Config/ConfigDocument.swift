import Yams

/// A composed YAML tree on its way to ``ConfigReader``, with overrides placed at their key paths and a note
/// of which key paths came from outside the file, so that issues about them name the variable or flag.
struct ConfigDocument {
    /// The tree the reader reads.
    private(set) var root: Node
    /// Where each process-level setting's value comes from.
    private(set) var sources: [ProcessSetting: ProcessSetting.Source] = [:]
    /// Key paths set from outside the file, with what to name in issues about them.
    private(set) var labels: [(path: String, label: String)] = []

    /// `fromFile`: whether `root` is a configuration file, whose settings count as ``ProcessSetting/Source/file``.
    init(root: Node, fromFile: Bool) {
        self.root = root
        for setting in ProcessSetting.allCases {
            sources[setting] = fromFile && Self.value(at: setting.keys, in: root) != nil ? .file : .default
        }
    }

    /// Replaces the tree (with Admin API resources added); labels and sources stay.
    mutating func replaceRoot(_ root: Node) {
        self.root = root
    }

    /// Names `label` in issues at `path` or below it.
    mutating func label(_ path: String, as label: String) {
        labels.append((path, label))
    }

    /// Replaces the setting's value (creating its section when absent), as if the file had said it.
    ///
    /// A section that is present but not a mapping is left alone: the reader reports it.
    mutating func apply(_ override: ConfigOverride) {
        guard let root = Self.setting(override.setting.keys[...], to: override.node, in: root) else { return }
        self.root = root
        sources[override.setting] = override.source
        label(override.setting.keyPath, as: override.label)
    }

    /// `issue` with its path naming the variable or flag that set the value: "GATEWAY_WORKERS" for an issue
    /// at the overridden key itself, "GATEWAY_LISTEN (listen[1])" for one below it.
    func attribute(_ issue: ConfigIssue) -> ConfigIssue {
        var issue = issue
        if let exact = labels.last(where: { $0.path == issue.path }) {
            issue.path = exact.label
        } else if let parent = labels.last(where: {
            issue.path.hasPrefix($0.path + "[") || issue.path.hasPrefix($0.path + ".")
        }) {
            issue.path = "\(parent.label) (\(issue.path))"
        }
        return issue
    }

    private static func value(at keys: [String], in node: Node) -> Node? {
        var current = node
        for key in keys {
            guard let mapping = current.mapping, let value = mapping.first(where: { $0.key.string == key })?.value
            else { return nil }
            current = value
        }
        return current
    }

    private static func setting(_ keys: ArraySlice<String>, to value: Node, in node: Node) -> Node? {
        guard let key = keys.first else { return value }
        guard case .mapping(let mapping) = node else { return nil }
        var pairs = mapping.map { ($0.key, $0.value) }
        if let index = pairs.firstIndex(where: { $0.0.string == key }) {
            guard let replaced = setting(keys.dropFirst(), to: value, in: pairs[index].1) else { return nil }
            pairs[index].1 = replaced
        } else {
            let empty = Node([(Node, Node)]())
            guard let created = setting(keys.dropFirst(), to: value, in: empty) else { return nil }
            pairs.append((Node(key, Tag(.str), .plain), created))
        }
        return .mapping(Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark))
    }
}
