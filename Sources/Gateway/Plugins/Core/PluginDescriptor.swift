/// A plugin kind in the registry: its name, where it runs, the keys it accepts and how an instance is
/// compiled from its settings.
package struct PluginDescriptor: Sendable {
    /// The configuration name, as in APISIX ("key-auth").
    package let name: String
    /// APISIX's default priority: higher runs first within a phase.
    package let priority: Int
    /// The phases its instances implement.
    package let phases: PluginPhases
    /// Keys its settings may have on a route, service or global rule.
    package let keys: [String]
    /// For authentication plugins: the keys a consumer's or credential's settings may have.
    package let consumerKeys: [String]?
    /// Builds an instance; reports every problem through `settings` and returns nil if there was one.
    package let compile: @Sendable (inout PluginSettings) -> (any GatewayPlugin)?
    /// For authentication plugins: reads a consumer's or credential's settings into a credential.
    package let readCredential: (@Sendable (inout PluginSettings) -> ConsumerCredential?)?

    package init(
        name: String,
        priority: Int,
        phases: PluginPhases,
        keys: [String],
        consumerKeys: [String]? = nil,
        readCredential: (@Sendable (inout PluginSettings) -> ConsumerCredential?)? = nil,
        compile: @escaping @Sendable (inout PluginSettings) -> (any GatewayPlugin)?
    ) {
        self.name = name
        self.priority = priority
        self.phases = phases
        self.keys = keys
        self.consumerKeys = consumerKeys
        self.readCredential = readCredential
        self.compile = compile
    }
}
