/// The resource types of the Admin API, as APISIX names them under `/apisix/admin/`.
package enum AdminResourceKind: String, Sendable, Hashable, CaseIterable {
    case routes
    case upstreams
    case services
    case consumers
    /// `/apisix/admin/consumers/{username}/credentials/{id}`; stored with the id `{username}/{id}`.
    case credentials
    case globalRules = "global_rules"
    /// Certificates TLS listeners serve; their private keys are never shown to viewer keys.
    case ssls
}
