extension AdminAPI {
    /// `PUT`, `POST` or `PATCH`: parses the body, then builds and applies the proposed set under the lock.
    func write(_ method: HTTPMethod, _ path: AdminPath, body: [UInt8]) -> ControlResponse {
        do throws(AdminRefusal) {
            let value = try Self.parseBody(body, method: method)
            return try state.withLock { current throws(AdminRefusal) -> ControlResponse in
                if let live { current = live() }
                switch method {
                case .post: return try post(path, value, current: &current)
                case .patch: return try patch(path, value, current: &current)
                default: return try put(path, value, current: &current)
                }
            }
        } catch {
            return error.response
        }
    }

    /// `PUT /{res}/{id}` or `PUT /{res}` with the id in the body: 201 when new, 200 when replaced.
    private func put(
        _ path: AdminPath,
        _ body: AdminJSON,
        current: inout ResourceSet
    ) throws(AdminRefusal)
        -> ControlResponse
    {
        let members = try Self.members(of: body)
        let id = try Self.resolveID(path, body: members)
        let file = fileResources()
        try requireOwner(of: path, current: current, file: file)
        let storedID = path.storedID(id)
        try refuseFileDefined(path.kind, storedID, file: file)
        let existing = current[path.kind, storedID]
        let resource = try commit(path.kind, storedID, id: id, value: members, replacing: existing, current: &current)
        return .admin(existing == nil ? 201 : 200, Self.envelope(resource, source: .api))
    }

    /// `POST /{res}`: 201 with a generated id; an id in the path or body is refused, as in APISIX.
    private func post(
        _ path: AdminPath,
        _ body: AdminJSON,
        current: inout ResourceSet
    ) throws(AdminRefusal)
        -> ControlResponse
    {
        let members = try Self.members(of: body)
        guard path.id == nil, members[path.kind.idField] == nil else {
            throw .badRequest("wrong \(path.kind.noun) id, do not need it")
        }
        let file = fileResources()
        let id = generateID(path.kind, current: current, file: file)
        let resource = try commit(path.kind, id, id: id, value: members, replacing: nil, current: &current)
        return .admin(201, Self.envelope(resource, source: .api))
    }

    /// `PATCH /{res}/{id}` (a JSON merge patch of the object) or `PATCH /{res}/{id}/{sub/path}` (the body
    /// replaces the value at the sub-path): 200.
    private func patch(
        _ path: AdminPath,
        _ body: AdminJSON,
        current: inout ResourceSet
    ) throws(AdminRefusal)
        -> ControlResponse
    {
        guard let id = path.id else { throw .badRequest("missing \(path.kind.noun) id") }
        let storedID = path.storedID(id)
        try refuseFileDefined(path.kind, storedID, file: fileResources())
        guard let existing = current[path.kind, storedID] else { throw .keyNotFound }
        let old = (try? AdminJSONParser.parse(existing.json)) ?? .object([:])
        let patched: AdminJSON
        if path.subPath.isEmpty {
            guard body.object != nil else {
                throw .badRequest("invalid configuration: a PATCH body must be a JSON object, not \(body.typeName)")
            }
            patched = old.mergePatched(with: body)
        } else {
            guard let replaced = old.replacing(at: path.subPath[...], with: body) else {
                throw .badRequest(
                    "invalid sub path \(path.subPath.joined(separator: "/")): a value on the way is not an object"
                )
            }
            patched = replaced
        }
        let members = try Self.members(of: patched)
        if let given = members[path.kind.idField], given.idText != id {
            throw .badRequest("wrong \(path.kind.noun) id")
        }
        let resource = try commit(path.kind, storedID, id: id, value: members, replacing: existing, current: &current)
        return .admin(200, Self.envelope(resource, source: .api))
    }

    /// The request body as JSON; 400 when it is empty or not JSON.
    private static func parseBody(_ body: [UInt8], method: HTTPMethod) throws(AdminRefusal) -> AdminJSON {
        guard body.contains(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else {
            throw .badRequest(method == .patch ? "missing new configuration" : "missing configurations")
        }
        do {
            return try AdminJSONParser.parse(body)
        } catch {
            throw .badRequest("invalid request body: \(error)")
        }
    }

    /// The members of `value`; 400 when it is not an object.
    private static func members(of value: AdminJSON) throws(AdminRefusal) -> [String: AdminJSON] {
        guard let members = value.object else {
            throw .badRequest("invalid configuration: the body must be a JSON object, not \(value.typeName)")
        }
        return members
    }
}
