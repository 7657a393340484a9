extension AdminAPI {
    /// `GET` of a collection or of one resource.
    /// Without `showSecrets` (a viewer key), certificates' private keys are left out.
    func read(_ path: AdminPath, query: AdminQuery, showSecrets: Bool) -> ControlResponse {
        let api = resources
        let file = fileResources()
        guard let id = path.id else {
            return list(path, api: api, file: file, query: query, showSecrets: showSecrets)
        }
        let storedID = path.storedID(id)
        if let resource = api[path.kind, storedID] {
            return .admin(200, Self.envelope(resource, source: .api, showSecrets: showSecrets))
        }
        if let resource = file[path.kind, storedID] {
            return .admin(200, Self.envelope(resource, source: .file, showSecrets: showSecrets))
        }
        return .adminKeyNotFound
    }

    private func list(
        _ path: AdminPath,
        api: ResourceSet,
        file: ResourceSet,
        query: AdminQuery,
        showSecrets: Bool
    ) -> ControlResponse {
        let fromFile = file.list(path.kind).filter { path.contains(storedID: $0.id) }
        let fromAPI = api.list(path.kind).filter { path.contains(storedID: $0.id) }
            .sorted { ($0.createdIndex, $0.id) < ($1.createdIndex, $1.id) }
        var items =
            fromFile.map { Self.envelope($0, source: .file, showSecrets: showSecrets) }
            + fromAPI.map { Self.envelope($0, source: .api, showSecrets: showSecrets) }
        let total = items.count
        if let pageText = query["page"], let sizeText = query["page_size"], let size = Int(sizeText) {
            guard (10...500).contains(size) else { return .adminError(400, "page_size must be between 10 and 500") }
            let page = max(Int(pageText) ?? 1, 1)
            let skipped = page - 1 > Int.max / size ? Int.max : (page - 1) * size
            let start = min(skipped, items.count)
            items = Array(items[start..<min(start + size, items.count)])
        }
        return .admin(200, .object(["total": .integer(Int64(total)), "list": .array(items)]))
    }

    /// `{"key", "value", "createdIndex", "modifiedIndex", "source"}` for `resource`.
    static func envelope(_ resource: StoredResource, source: AdminResourceSource, showSecrets: Bool = true) -> AdminJSON
    {
        var value = (try? AdminJSONParser.parse(resource.json)) ?? .string(resource.json)
        if !showSecrets, resource.kind == .ssls, case .object(var members) = value {
            // Private keys, inline or extra; `key_file` is a path, not a secret.
            members["key"] = nil
            members["keys"] = nil
            value = .object(members)
        }
        return .object([
            "key": .string(resource.kind.key(for: resource.id)),
            "value": value,
            "createdIndex": .integer(resource.createdIndex),
            "modifiedIndex": .integer(resource.modifiedIndex),
            "source": .string(source.rawValue),
        ])
    }
}
