extension AdminAPI {
    /// Stores `value` as `storedID` in a proposed set and applies it; on success `current` becomes that set.
    ///
    /// The value gets its id (`id`, or `username` for a consumer), `create_time` (kept from `replacing`) and
    /// `update_time`; the set's revision goes up by one.
    func commit(
        _ kind: AdminResourceKind,
        _ storedID: String,
        id: String,
        value: [String: AdminJSON],
        replacing existing: StoredResource?,
        current: inout ResourceSet
    ) throws(AdminRefusal) -> StoredResource {
        var value = value
        let time = now()
        let created = existing.flatMap { try? AdminJSONParser.parse($0.json) }?["create_time"]?.integer
        value[kind.idField] = .string(id)
        value["create_time"] = .integer(created ?? time)
        value["update_time"] = .integer(time)
        var proposed = current
        proposed.revision += 1
        let resource = StoredResource(
            kind: kind,
            id: storedID,
            json: AdminJSON.object(value).text,
            createdIndex: existing?.createdIndex ?? proposed.revision,
            modifiedIndex: proposed.revision
        )
        proposed[kind, storedID] = resource
        try publish(proposed, current: &current)
        // The store may have given it other indices (etcd's revision): answer with what it holds.
        return current[kind, storedID] ?? resource
    }

    /// Hands `proposed` to `apply`; keeps it only when applied, else refuses with 400 (invalid) or 503 (store).
    func publish(_ proposed: ResourceSet, current: inout ResourceSet) throws(AdminRefusal) {
        switch apply(proposed) {
        case .applied:
            current = live?() ?? proposed
        case .rejected(let issues):
            let detail = issues.isEmpty ? "" : ": " + issues.joined(separator: "; ")
            throw .badRequest("invalid configuration\(detail)")
        case .storeFailed(let message):
            throw AdminRefusal(.adminError(503, "failed to store the change, nothing changed: \(message)"))
        case .conflict(let message):
            throw AdminRefusal(.adminError(409, message))
        }
    }

    /// The id a `PUT` writes: the path's, else the body's (`username` for a consumer); both must agree.
    static func resolveID(_ path: AdminPath, body: [String: AdminJSON]) throws(AdminRefusal) -> String {
        let kind = path.kind
        var fromBody: String?
        if let given = body[kind.idField] {
            switch given {
            case .string(let text): fromBody = text
            case .number(let text) where kind != .consumers && given.integer != nil: fromBody = text
            default:
                let expected = kind == .consumers ? "a string" : "a string or an integer"
                throw .badRequest("invalid configuration: \(kind.idField) must be \(expected), not \(given.typeName)")
            }
        }
        if let pathID = path.id, let fromBody, pathID != fromBody {
            throw .badRequest(kind == .consumers ? "wrong username" : "wrong \(kind.noun) id")
        }
        guard let id = path.id ?? fromBody else {
            throw .badRequest(kind == .consumers ? "missing consumer username" : "missing \(kind.noun) id")
        }
        try checkSyntax(of: id, kind: kind)
        return id
    }

    /// APISIX's id rules: 1 to 64 letters, digits, `.`, `_` or `-`; a username 1 to 100 letters, digits, `_`
    /// or `-`.
    private static func checkSyntax(of id: String, kind: AdminResourceKind) throws(AdminRefusal) {
        let isUsername = kind == .consumers
        let maximum = isUsername ? 100 : 64
        let valid =
            (1...maximum).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    return true
                case UInt8(ascii: "."): return !isUsername
                default: return false
                }
            }
        guard valid else {
            let allowed = isUsername ? "letters, digits, '_' and '-'" : "letters, digits, '.', '_' and '-'"
            throw .badRequest(
                "invalid configuration: \(kind.idField) \"\(id)\" must be 1 to \(maximum) characters of \(allowed)"
            )
        }
    }

    /// A credential's consumer must exist (in either source); 400 otherwise.
    func requireOwner(of path: AdminPath, current: ResourceSet, file: ResourceSet) throws(AdminRefusal) {
        guard let owner = path.owner else { return }
        guard current[.consumers, owner] != nil || file[.consumers, owner] != nil else {
            throw .badRequest("consumer [\(owner)] does not exist; create it before its credentials")
        }
    }

    /// Resources the configuration file defines are read-only here: 400 "... defined in FILE".
    func refuseFileDefined(_ kind: AdminResourceKind, _ storedID: String, file: ResourceSet) throws(AdminRefusal) {
        guard file[kind, storedID] != nil else { return }
        throw .badRequest(
            "\(kind.noun) [\(storedID)] is defined in \(fileName) and is read-only through the Admin API; "
                + "change it in \(fileName)"
        )
    }

    /// A fresh 18-digit id, as APISIX generates for `POST`: unix seconds, then 8 random digits; unique for
    /// `kind` across both sources.
    func generateID(_ kind: AdminResourceKind, current: ResourceSet, file: ResourceSet) -> String {
        let seconds = UInt64(max(now(), 0)) % 10_000_000_000
        while true {
            let digits = String(seconds * 100_000_000 + UInt64.random(in: 0..<100_000_000))
            let id = String(repeating: "0", count: max(0, 18 - digits.count)) + digits
            if current[kind, id] == nil, file[kind, id] == nil { return id }
        }
    }
}
