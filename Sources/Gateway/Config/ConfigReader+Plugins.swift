import Yams

/// What a `plugins:` mapping holds once read.
struct PluginSection {
    /// Plugins to compile into the plan, in file order.
    var specs: [PluginSpec] = []
    /// The `mocking` answer, if configured.
    var mock: MockResponse?
    /// Authentication settings, on a consumer or credential.
    var credentials: [ConsumerCredential] = []
}

extension ConfigReader {
    /// Reads a `plugins:` mapping at `path`, configured at `scope`, checking every plugin's settings as
    /// its plan would compile them. On a consumer or credential (`consumer: true`) authentication
    /// plugins take their consumer settings (keys, passwords) and become credentials.
    mutating func plugins(_ node: Node, at path: String, scope: PluginScope, consumer: Bool = false) -> PluginSection {
        var section = PluginSection()
        guard let mapping = node.mapping else {
            report(path, node, "expected a mapping of plugin names to settings, found \(Self.kind(node))")
            return section
        }
        for (key, value) in mapping {
            let name = key.scalar?.string ?? ""
            let pluginPath = "\(path).\(name)"
            if name == "mocking" && !consumer {
                section.mock = mocking(value, at: pluginPath)
                continue
            }
            guard let descriptor = PluginRegistry.descriptor(named: name) else {
                report(
                    pluginPath,
                    key,
                    "unknown plugin \"\(name)\"\(Self.suggestion(for: name, in: PluginRegistry.names)) (supported: \(PluginRegistry.names.joined(separator: ", ")))"
                )
                continue
            }
            if consumer, let consumerKeys = descriptor.consumerKeys, let readCredential = descriptor.readCredential {
                guard var settings = pluginSettings(value, at: pluginPath, keys: consumerKeys, scope: scope, name: name)
                else { continue }
                let credential = readCredential(&settings)
                self = settings.reader
                if let credential { section.credentials.append(credential) }
                continue
            }
            guard var settings = pluginSettings(value, at: pluginPath, keys: descriptor.keys, scope: scope, name: name)
            else { continue }
            _ = descriptor.compile(&settings)
            self = settings.reader
            section.specs.append(PluginSpec(name: name, settings: settings.text, path: pluginPath))
        }
        return section
    }

    /// Settings for one plugin, checked against `keys`; validated with no consumers and no shared state.
    private mutating func pluginSettings(
        _ node: Node,
        at path: String,
        keys: [String],
        scope: PluginScope,
        name: String
    ) -> PluginSettings? {
        // APISIX accepts `{}` and, in YAML, an empty value for a plugin with no required settings.
        let value = node.tagName == .null ? Node([(Node, Node)]()) : node
        guard let fields = fields(value, at: path, allowed: keys + ["_meta"]) else { return nil }
        let text = (try? Yams.serialize(node: value)) ?? ""
        return PluginSettings(
            reader: self,
            fields: fields,
            scope: scope,
            context: PluginCompileContext(consumers: .empty, shared: nil, workerCount: 1),
            name: name,
            text: text
        )
    }
}
