extension AdminResourceKind {
    /// The resource as APISIX's messages name it: "route", "upstream", "service", "consumer", "credential",
    /// "global rule", "ssl".
    package var noun: String {
        switch self {
        case .routes: return "route"
        case .upstreams: return "upstream"
        case .services: return "service"
        case .consumers: return "consumer"
        case .credentials: return "credential"
        case .globalRules: return "global rule"
        case .ssls: return "ssl"
        }
    }

    /// The member of a value that holds its id: `username` for a consumer, `id` for the rest.
    package var idField: String { self == .consumers ? "username" : "id" }

    /// Whether the Admin API serves `method` for this kind. As in APISIX: consumers and credentials take no
    /// `POST` (their id is a name the client chooses) and no `PATCH`; global rules take no `POST`.
    package func supports(_ method: HTTPMethod) -> Bool {
        switch (self, method) {
        case (_, .get), (_, .put), (_, .delete): return true
        case (.routes, .post), (.upstreams, .post), (.services, .post), (.ssls, .post): return true
        case (.routes, .patch), (.upstreams, .patch), (.services, .patch), (.globalRules, .patch), (.ssls, .patch):
            return true
        default: return false
        }
    }

    /// The etcd-style key APISIX reports for the resource stored as `id`: `/apisix/routes/1`, or
    /// `/apisix/consumers/jack/credentials/cred-1` for the credential stored as `jack/cred-1`.
    package func key(for id: String) -> String {
        if self == .credentials, let slash = id.firstIndex(of: "/") {
            return "/apisix/consumers/\(id[..<slash])/credentials/\(id[id.index(after: slash)...])"
        }
        return "/apisix/\(rawValue)/\(id)"
    }
}
