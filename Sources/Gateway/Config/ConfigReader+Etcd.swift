import Yams

extension ConfigReader {
    static let etcdKeys = ["endpoints", "prefix", "timeout", "user", "password", "cache_path", "data_encryption"]

    /// Reads `config:` (`watch`, `store`) and `etcd:`. Nothing here contacts etcd: `gateway check` stays offline.
    mutating func reloadSettings(_ node: Node?, etcd: Node?, into config: inout GatewayConfig) {
        if let node, let section = fields(node, at: "config", allowed: ["watch", "store"]) {
            if let value = section["watch"], let watch = bool(value, at: "config.watch") {
                config.reload.watch = watch
            }
            if let value = section["store"],
                let store = choice(value, at: "config.store", as: ReloadSettings.Store.self)
            {
                config.reload.store = store
            }
        }
        if let etcd {
            etcdSettings(etcd, into: &config.etcd)
        }
    }

    private mutating func etcdSettings(_ node: Node, into settings: inout EtcdSettings) {
        guard let section = fields(node, at: "etcd", allowed: Self.etcdKeys) else { return }
        if let value = section["endpoints"], let items = list(value, at: "etcd.endpoints", allowSingle: true) {
            var endpoints: [EtcdSettings.Endpoint] = []
            for item in items {
                guard let text = nonEmptyString(item.node, at: item.path) else { continue }
                if let endpoint = etcdEndpoint(text, node: item.node, at: item.path) { endpoints.append(endpoint) }
            }
            if items.isEmpty {
                report("etcd.endpoints", value, "needs at least one endpoint such as \"http://127.0.0.1:2379\"")
            } else if endpoints.count == items.count {
                settings.endpoints = endpoints
            }
        }
        if let value = section["prefix"], let prefix = nonEmptyString(value, at: "etcd.prefix") {
            if !prefix.hasPrefix("/") {
                report("etcd.prefix", value, "must start with \"/\", such as \"/apisix\"")
            } else {
                var trimmed = Substring(prefix)
                while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
                settings.prefix = trimmed == "/" ? "" : String(trimmed)
            }
        }
        if let value = section["timeout"], let timeout = duration(value, at: "etcd.timeout") {
            settings.timeout = timeout
        }
        if let value = section["user"], let user = nonEmptyString(value, at: "etcd.user") {
            settings.user = user
        }
        if let value = section["password"], let password = string(value, at: "etcd.password") {
            settings.password = password
        }
        if settings.password != nil, settings.user == nil {
            report("etcd.password", section["password"], "is set without etcd.user")
        }
        if let value = section["cache_path"], let path = nonEmptyString(value, at: "etcd.cache_path") {
            settings.cachePath = path
        }
        if let value = section["data_encryption"] {
            dataEncryption(value, into: &settings.dataEncryption)
        }
    }

    /// `http://host:port` or `host:port` (`[v6]:port` for IPv6); `https://` is refused for now.
    private mutating func etcdEndpoint(_ text: String, node: Node, at path: String) -> EtcdSettings.Endpoint? {
        var rest = Substring(text)
        if rest.lowercased().hasPrefix("https://") {
            report(path, node, "https:// (TLS to etcd) is not supported yet; use an http:// endpoint")
            return nil
        }
        if rest.lowercased().hasPrefix("http://") { rest = rest.dropFirst(7) }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        let host: Substring
        let portText: Substring
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            guard after.hasPrefix(":") else {
                report(path, node, "\"\(text)\" needs a port, such as \"http://127.0.0.1:2379\"")
                return nil
            }
            portText = after.dropFirst()
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            report(path, node, "\"\(text)\" needs a port, such as \"http://127.0.0.1:2379\"")
            return nil
        }
        guard !host.isEmpty, !host.contains("/"), let port = Int(portText), (1...65535).contains(port) else {
            report(path, node, "\"\(text)\" is not http://host:port or host:port with a port from 1 to 65535")
            return nil
        }
        return EtcdSettings.Endpoint(host: String(host), port: port)
    }
}
