/// A request path under `/apisix/admin/`, split into the resource it names.
///
/// `/apisix/admin/{kind}[/{id}[/{sub/path}]]`, and for credentials
/// `/apisix/admin/consumers/{username}/credentials[/{id}[/{sub/path}]]`. Segments are percent-decoded; empty
/// segments (`routes/`, `routes//1`) are skipped, as APISIX does.
package struct AdminPath: Sendable, Equatable {
    /// The prefix every Admin API path starts with.
    package static let prefix = "/apisix/admin/"

    package var kind: AdminResourceKind
    /// The consumer a credential belongs to; `nil` for other kinds.
    package var owner: String?
    /// The resource id as the path spells it (a credential's own id, without the username); `nil` for the
    /// collection.
    package var id: String?
    /// Segments after the id, for a sub-path `PATCH` (`/routes/1/upstream/nodes` → `["upstream", "nodes"]`).
    package var subPath: [String]

    package init(kind: AdminResourceKind, owner: String? = nil, id: String? = nil, subPath: [String] = []) {
        self.kind = kind
        self.owner = owner
        self.id = id
        self.subPath = subPath
    }

    /// The resource `path` names; `nil` when it is not an Admin API resource path.
    package init?(path: String) {
        guard path.hasPrefix(Self.prefix) else { return nil }
        var segments: [String] = []
        for raw in path.dropFirst(Self.prefix.count).split(separator: "/") {
            guard let segment = AdminQuery.percentDecoded(raw) else { return nil }
            segments.append(segment)
        }
        guard let first = segments.first, let kind = AdminResourceKind(rawValue: first), kind != .credentials else {
            return nil
        }
        if kind == .consumers, segments.count >= 3, segments[2] == AdminResourceKind.credentials.rawValue {
            self.init(
                kind: .credentials,
                owner: segments[1],
                id: segments.count > 3 ? segments[3] : nil,
                subPath: Array(segments.dropFirst(4))
            )
        } else {
            self.init(kind: kind, id: segments.count > 1 ? segments[1] : nil, subPath: Array(segments.dropFirst(2)))
        }
    }

    /// The id a resource with the path id `id` is stored under: `{owner}/{id}` for a credential, `id` otherwise.
    package func storedID(_ id: String) -> String {
        owner.map { "\($0)/\(id)" } ?? id
    }

    /// Whether the resource stored as `storedID` of ``kind`` is in this collection (a credential: of ``owner``).
    package func contains(storedID: String) -> Bool {
        guard let owner else { return true }
        return storedID.hasPrefix(owner + "/")
    }
}
