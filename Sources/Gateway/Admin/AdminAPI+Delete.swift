extension AdminAPI {
    /// `DELETE /{res}/{id}`: 200 `{"deleted": "1", "key": ...}`.
    ///
    /// Refused with 400 while another resource (of either source) references it: a route or service by
    /// `upstream_id`, a route by `service_id`; `force` skips that check. A consumer's credentials are deleted
    /// with it.
    func delete(_ path: AdminPath, force: Bool) -> ControlResponse {
        guard let id = path.id else {
            return .adminError(400, path.kind == .consumers ? "missing consumer name" : "missing \(path.kind.noun) id")
        }
        let storedID = path.storedID(id)
        return state.withLock { current -> ControlResponse in
            if let live { current = live() }
            do throws(AdminRefusal) {
                let file = fileResources()
                try refuseFileDefined(path.kind, storedID, file: file)
                guard current[path.kind, storedID] != nil else { throw .keyNotFound }
                if !force, let reference = Self.reference(to: path.kind, id, in: [current, file]) {
                    throw .badRequest(reference)
                }
                var proposed = current
                proposed.revision += 1
                proposed[path.kind, storedID] = nil
                if path.kind == .consumers {
                    for credential in proposed.list(.credentials) where credential.id.hasPrefix(id + "/") {
                        proposed[.credentials, credential.id] = nil
                    }
                }
                try publish(proposed, current: &current)
                return .admin(
                    200,
                    .object(["deleted": .string("1"), "key": .string(path.kind.key(for: storedID))])
                )
            } catch {
                return error.response
            }
        }
    }

    /// APISIX's message for the first resource in `sets` that still uses `kind` `id`; `nil` when none does.
    static func reference(to kind: AdminResourceKind, _ id: String, in sets: [ResourceSet]) -> String? {
        let users: [(kind: AdminResourceKind, field: String)]
        let subject: String
        switch kind {
        case .upstreams:
            users = [(.routes, "upstream_id"), (.services, "upstream_id")]
            subject = "upstream"
        case .services:
            users = [(.routes, "service_id")]
            subject = "service directly"
        default:
            return nil
        }
        for user in users {
            for set in sets {
                for resource in set.list(user.kind) {
                    let value = try? AdminJSONParser.parse(resource.json)
                    if value?[user.field]?.idText == id {
                        return
                            "can not delete this \(subject), \(user.kind.noun) [\(resource.id)] is still using it now"
                    }
                }
            }
        }
        return nil
    }
}
