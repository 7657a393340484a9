/// A service (APISIX's `services`): an upstream and plugins that routes share by naming its id in
/// `service_id`. A route's own upstream and plugins win over its service's.
package struct ServiceConfig: Sendable, Equatable {
    package var id: String
    /// The upstream routes of this service use (an inline upstream gets the id `service:<id>`).
    package var upstreamID: String?
    /// The `mocking` plugin, if configured.
    package var mocking: MockResponse?

    package init(id: String) {
        self.id = id
    }
}

/// A consumer (APISIX's `consumers`): who a request comes from once an authentication plugin has
/// identified it. Its plugins (keys, limits) come with the plugins issue.
package struct ConsumerConfig: Sendable, Equatable {
    package var username: String

    package init(username: String) {
        self.username = username
    }
}

/// A credential of a consumer (APISIX's `/consumers/{username}/credentials/{id}`).
package struct CredentialConfig: Sendable, Equatable {
    package var id: String
    package var consumer: String

    package init(id: String, consumer: String) {
        self.id = id
        self.consumer = consumer
    }
}

/// A global rule (APISIX's `global_rules`): plugins that run for every request.
package struct GlobalRuleConfig: Sendable, Equatable {
    package var id: String

    package init(id: String) {
        self.id = id
    }
}
