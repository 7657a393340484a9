/// The plugins the gateway has, and the order they run in.
package enum PluginRegistry {
    /// Every built-in plugin, highest priority first (APISIX's default priorities; docs/PLUGINS.md
    /// lists them). A plugin's position here is its kind: its metric label index and merge identity.
    package static let builtins: [PluginDescriptor] = [
        KeyAuthPlugin.descriptor,
        ClientCertAuthPlugin.descriptor,
        BasicAuthPlugin.descriptor,
        JWTAuthPlugin.descriptor,
        ConsumerRestrictionPlugin.descriptor,
        LimitConnPlugin.descriptor,
        LimitCountPlugin.descriptor,
        LimitReqPlugin.descriptor,
        RealIPPlugin.descriptor,
        IPRestrictionPlugin.descriptor,
        CORSPlugin.descriptor,
        ProxyRewritePlugin.descriptor,
        ResponseRewritePlugin.descriptor,
        RedirectPlugin.descriptor,
        SecurityHeadersPlugin.descriptor,
        RequestIDPlugin.descriptor,
    ].sorted { $0.priority > $1.priority }

    private static let positions: [String: Int] = Dictionary(
        uniqueKeysWithValues: builtins.enumerated().map { ($0.element.name, $0.offset) }
    )

    /// The names of every plugin, sorted, for error messages (`mocking` is read with the route).
    package static let names: [String] = (builtins.map(\.name) + ["mocking"]).sorted()

    /// The descriptor of the plugin named `name`.
    package static func descriptor(named name: String) -> PluginDescriptor? {
        positions[name].map { builtins[$0] }
    }

    /// The kind (registry position) of the plugin named `name`.
    package static func kind(named name: String) -> UInt8? {
        positions[name].map { UInt8($0) }
    }
}
