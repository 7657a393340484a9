/// A service (APISIX's `services`): an upstream and plugins that routes share by naming its id in
/// `service_id`. A route's own upstream and plugins win over its service's.
package struct ServiceConfig: Sendable, Equatable {
    package var id: String
    /// The upstream routes of this service use (an inline upstream gets the id `service:<id>`).
    package var upstreamID: String?
    /// The `mocking` plugin, if configured.
    package var mocking: MockResponse?
    /// The other plugins its routes run (a route's own settings of a plugin replace these).
    package var plugins: [PluginSpec] = []

    package init(id: String) {
        self.id = id
    }
}

/// A consumer (APISIX's `consumers`): who a request comes from once an authentication plugin has
/// identified it: its credentials (authentication plugins' settings) and the plugins that run for it.
package struct ConsumerConfig: Sendable, Equatable {
    package var username: String
    /// How it authenticates (from its `plugins` and its credentials).
    package var credentials: [ConsumerCredential] = []
    /// Its other plugins, merged over the route's once it is authenticated.
    package var plugins: [PluginSpec] = []

    package init(username: String) {
        self.username = username
    }
}

/// A credential of a consumer (APISIX's `/consumers/{username}/credentials/{id}`).
package struct CredentialConfig: Sendable, Equatable {
    package var id: String
    package var consumer: String
    /// Its authentication settings.
    package var credentials: [ConsumerCredential] = []

    package init(id: String, consumer: String) {
        self.id = id
        self.consumer = consumer
    }
}

/// A global rule (APISIX's `global_rules`): plugins that run for every request.
package struct GlobalRuleConfig: Sendable, Equatable {
    package var id: String
    /// Plugins every request runs (before the route's, in each phase).
    package var plugins: [PluginSpec] = []

    package init(id: String) {
        self.id = id
    }
}
