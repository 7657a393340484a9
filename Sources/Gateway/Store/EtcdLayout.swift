/// APISIX's key layout in etcd: `{prefix}/routes/{id}`, `/upstreams/{id}`, `/services/{id}`,
/// `/consumers/{username}`, `/consumers/{username}/credentials/{id}`, `/global_rules/{id}`, `/ssls/{id}`.
package struct EtcdLayout: Sendable, Equatable {
    /// What a key under the prefix holds.
    package enum Entry: Sendable, Equatable {
        case resource(AdminResourceKind, id: String)
        /// A key of a kind this gateway does not read (`plugin_metadata`, `protos`, `stream_routes`, ...), or a
        /// directory marker.
        case ignored(String)
    }

    /// The prefix without a trailing `/` ("" for the root).
    package let prefix: String

    package init(prefix: String) {
        self.prefix = prefix
    }

    /// Every key this gateway reads starts with this.
    package var rangePrefix: String { prefix + "/" }

    /// The key of the resource stored as `id` (`{username}/{id}` for a credential).
    package func key(_ kind: AdminResourceKind, _ id: String) -> String {
        if kind == .credentials, let slash = id.firstIndex(of: "/") {
            return "\(prefix)/consumers/\(id[..<slash])/credentials/\(id[id.index(after: slash)...])"
        }
        return "\(prefix)/\(kind.rawValue)/\(id)"
    }

    /// What `key` holds.
    package func entry(forKey key: String) -> Entry {
        guard key.hasPrefix(rangePrefix) else { return .ignored("outside \(rangePrefix)") }
        let parts = key.dropFirst(rangePrefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard let first = parts.first else { return .ignored("empty key") }
        let kindName = String(first)
        if kindName == "consumers", parts.count == 4, parts[2] == "credentials", !parts[1].isEmpty, !parts[3].isEmpty {
            return .resource(.credentials, id: "\(parts[1])/\(parts[3])")
        }
        guard let kind = AdminResourceKind(rawValue: kindName), kind != .credentials else {
            return .ignored("\(kindName) is not a kind this gateway reads")
        }
        guard parts.count == 2, !parts[1].isEmpty else { return .ignored("not a \(kind.noun) key") }
        return .resource(kind, id: String(parts[1]))
    }
}
