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
                guard let read = pluginSettings(value, at: pluginPath, keys: consumerKeys, scope: scope, name: name)
                else { continue }
                var settings = read.settings
                let credential = readCredential(&settings)
                self = settings.reader
                // A disabled authentication plugin authenticates no one.
                if let credential, !read.disabled { section.credentials.append(credential) }
                continue
            }
            guard let read = pluginSettings(value, at: pluginPath, keys: descriptor.keys, scope: scope, name: name)
            else { continue }
            var settings = read.settings
            _ = descriptor.compile(&settings)
            self = settings.reader
            // A disabled plugin stays a spec (so a route's disabled plugin still replaces its service's) and the
            // plan leaves it out.
            section.specs.append(PluginSpec(name: name, settings: settings.text, path: pluginPath))
        }
        return section
    }

    /// Settings for one plugin, checked against `keys`; validated with no consumers and no shared state.
    /// `disabled` is its `_meta.disable`.
    private mutating func pluginSettings(
        _ node: Node,
        at path: String,
        keys: [String],
        scope: PluginScope,
        name: String
    ) -> (settings: PluginSettings, disabled: Bool)? {
        // APISIX accepts `{}` and, in YAML, an empty value for a plugin with no required settings.
        let value = node.tagName == .null ? Node([(Node, Node)]()) : node
        guard let fields = fields(value, at: path, allowed: keys + ["_meta"]) else { return nil }
        let disabled = pluginMeta(fields)
        let text = (try? Yams.serialize(node: value)) ?? ""
        let settings = PluginSettings(
            reader: self,
            fields: fields,
            scope: scope,
            context: PluginCompileContext(consumers: .empty, shared: nil, workerCount: 1),
            name: name,
            text: text
        )
        return (settings, disabled)
    }

    /// Starts the reason of every `_meta` field this gateway does not implement; the etcd store tells these
    /// apart from invalid values by it (such a resource is not served, as one with an unknown plugin).
    static let unsupportedPluginSetting = "unsupported plugin setting"

    /// Reads APISIX's `_meta` of one plugin's settings and returns whether `_meta.disable` is true.
    ///
    /// A disabled plugin is still checked (as APISIX checks it) but does not run. Every other `_meta` field
    /// (`filter`, `priority`, `error_response`, `pre_function`, ...) changes how the plugin behaves in ways this
    /// gateway does not implement, so it is reported rather than ignored.
    mutating func pluginMeta(_ fields: ConfigFields) -> Bool {
        guard let meta = fields["_meta"] else { return false }
        let path = fields.path("_meta")
        guard let mapping = meta.mapping else {
            report(path, meta, "expected a mapping such as {disable: true}, found \(Self.kind(meta))")
            return false
        }
        var disabled = false
        for (key, value) in mapping {
            let name = key.scalar?.string ?? ""
            if name == "disable" {
                disabled = bool(value, at: "\(path).disable") ?? false
                continue
            }
            report(
                "\(path).\(name)",
                key,
                "\(Self.unsupportedPluginSetting): this gateway does not implement APISIX's _meta.\(name) "
                    + "(only _meta.disable), so the plugin would not behave as configured"
            )
        }
        return disabled
    }
}
