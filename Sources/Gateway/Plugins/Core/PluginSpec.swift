/// One plugin as configured on a route, service, consumer, credential or global rule: its name and its
/// settings, validated when the configuration was read and compiled again into each plan.
package struct PluginSpec: Sendable, Equatable {
    /// The plugin's name ("key-auth").
    package var name: String
    /// Its settings as YAML (the mapping under the name), kept as text so the configuration stays a
    /// plain value.
    package var settings: String
    /// Where it was configured ("routes[0].plugins.key-auth"), for issues found while compiling.
    package var path: String

    package init(name: String, settings: String, path: String) {
        self.name = name
        self.settings = settings
        self.path = path
    }
}

/// Where a plugin instance is configured: the identity its shared state (a rate limit's counters)
/// is kept under, so that state survives reloads that do not change it.
package enum PluginScope: Sendable, Hashable, CustomStringConvertible {
    case route(String)
    case service(String)
    case consumer(String)
    case globalRule(String)

    package var description: String {
        switch self {
        case .route(let id): return "route/\(id)"
        case .service(let id): return "service/\(id)"
        case .consumer(let name): return "consumer/\(name)"
        case .globalRule(let id): return "global_rule/\(id)"
        }
    }
}
