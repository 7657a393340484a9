import Yams

extension PluginSettings {
    /// The YAML node at `key`, for settings whose shape decides how they are read (`headers` in its
    /// APISIX 3.x `{add, set, remove}` form or the older flat form; a value that may be `false`).
    func yamlNode(_ key: String) -> Node? {
        fields[key]
    }

    /// Whether `key` holds a boolean.
    func holdsBool(_ key: String) -> Bool {
        fields[key]?.tagName == .bool
    }

    /// Reports a problem at a key path below these settings ("headers.set.X-Foo"); `path` is relative.
    mutating func report(below path: String, _ reason: String) {
        reader.report(fields.path(path), nil, reason)
    }
}
