extension AdminAPI {
    /// `GET` of a collection or of one resource.
    /// Without `showSecrets` (a viewer key), private keys are left out (see ``redacted(_:kind:)``).
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
        if !showSecrets { value = redacted(value, kind: resource.kind) }
        return .object([
            "key": .string(resource.kind.key(for: resource.id)),
            "value": value,
            "createdIndex": .integer(resource.createdIndex),
            "modifiedIndex": .integer(resource.modifiedIndex),
            "source": .string(source.rawValue),
        ])
    }

    /// `value` of a `kind` resource without the secrets viewers never see: an `ssls` entry's `key` and
    /// `keys`, the `tls.client_key` of an upstream (one of its own, or inline in a route or service), and
    /// the credentials of consumers, credentials and global rules (key-auth `key`, basic-auth `password`,
    /// jwt-auth `secret` and `private_key`). Paths (`key_file`, `client_key_file`) are not secrets and stay.
    static func redacted(_ value: AdminJSON, kind: AdminResourceKind) -> AdminJSON {
        guard case .object(var members) = value else { return value }
        switch kind {
        case .ssls:
            members["key"] = nil
            members["keys"] = nil
        case .upstreams:
            return redactedUpstream(value)
        case .routes, .services:
            guard let upstream = members["upstream"] else { return value }
            members["upstream"] = redactedUpstream(upstream)
        case .consumers, .credentials, .globalRules:
            guard case .object(var plugins) = members["plugins"] else { return value }
            for (name, fields) in EtcdFieldEncryption.consumerFields {
                guard case .object(var settings) = plugins[name] else { continue }
                for field in fields { settings[field] = nil }
                plugins[name] = .object(settings)
            }
            members["plugins"] = .object(plugins)
        }
        return .object(members)
    }

    /// An upstream object without `tls.client_key` (the inline key of mTLS to its nodes).
    private static func redactedUpstream(_ upstream: AdminJSON) -> AdminJSON {
        guard case .object(var members) = upstream, case .object(var tls) = members["tls"] else { return upstream }
        tls["client_key"] = nil
        members["tls"] = .object(tls)
        return .object(members)
    }
}
