/// One resource as the Admin API stores and returns it (APISIX v3's `value`, plus etcd-style indices).
package struct StoredResource: Sendable, Equatable {
    package var kind: AdminResourceKind
    /// The id (a consumer's username; `{username}/{id}` for a credential).
    package var id: String
    /// The resource's JSON object, `id`, `create_time` and `update_time` included, as UTF-8 text.
    package var json: String
    /// etcd-style revision counters: when the resource was created and last changed.
    package var createdIndex: Int64
    package var modifiedIndex: Int64

    package init(kind: AdminResourceKind, id: String, json: String, createdIndex: Int64, modifiedIndex: Int64) {
        self.kind = kind
        self.id = id
        self.json = json
        self.createdIndex = createdIndex
        self.modifiedIndex = modifiedIndex
    }
}

/// Every resource of one source (the Admin API's store, or the config file), by kind and id.
package struct ResourceSet: Sendable, Equatable {
    package var resources: [AdminResourceKind: [String: StoredResource]] = [:]
    /// The last revision handed out (each write takes the next).
    package var revision: Int64 = 0

    package init() {}

    package subscript(kind: AdminResourceKind, id: String) -> StoredResource? {
        get { resources[kind]?[id] }
        set {
            resources[kind, default: [:]][id] = newValue
            // No empty per-kind tables: a set that had a resource removed equals one that never had it.
            if resources[kind]?.isEmpty == true { resources[kind] = nil }
        }
    }

    /// The resources of `kind`, ordered by id.
    package func list(_ kind: AdminResourceKind) -> [StoredResource] {
        (resources[kind] ?? [:]).values.sorted { $0.id < $1.id }
    }
}
