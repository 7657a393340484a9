/// Where a resource the Admin API shows was defined; responses carry it as the top-level `"source"` member.
package enum AdminResourceSource: String, Sendable {
    /// Created through the Admin API and kept in its store: writable.
    case api
    /// Defined in the configuration file: read-only through the API.
    case file
}
