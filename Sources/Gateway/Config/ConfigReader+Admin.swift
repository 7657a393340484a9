import Yams

extension ConfigReader {
    static let adminKeys = ["listen", "keys", "allow", "data_path"]

    /// Reads `admin:`; runs after `listen` and `control`, whose addresses its listener may not reuse.
    mutating func admin(_ node: Node, into config: inout GatewayConfig) {
        guard let section = fields(node, at: "admin", allowed: Self.adminKeys) else { return }
        var keysWritten = false
        if let value = section["keys"], let items = list(value, at: "admin.keys", allowSingle: false) {
            keysWritten = !items.isEmpty
            config.admin.keys = adminKeys(items)
        }
        if let value = section["allow"], let networks = networks(value, at: "admin.allow") {
            config.admin.allow = networks
        }
        if let value = section["data_path"], let path = nonEmptyString(value, at: "admin.data_path") {
            config.admin.dataPath = path
        }
        guard let value = section["listen"], let address = listenAddress(value, at: "admin.listen") else { return }
        // Port 0 lets the kernel pick a port for each listener, so equal addresses cannot clash then.
        if address.port != 0, let index = config.listen.firstIndex(where: { $0.sameSocket(as: address) }) {
            report("admin.listen", value, "\(address) is already the data-plane address listen[\(index)]")
            return
        }
        if address.port != 0, address == config.control.listen {
            report("admin.listen", value, "\(address) is already the control-plane address control.listen")
            return
        }
        guard keysWritten else {
            report(
                "admin.listen",
                value,
                "the Admin API needs at least one key under admin.keys ([{key: \"...\", role: admin}]); refusing to start it without one"
            )
            return
        }
        config.admin.listen = address
    }

    private mutating func adminKeys(_ items: [(node: Node, path: String)]) -> [AdminConfig.Key] {
        var result: [AdminConfig.Key] = []
        var firstUse: [String: String] = [:]
        for item in items {
            guard let object = fields(item.node, at: item.path, allowed: ["key", "role", "name"]) else { continue }
            if let value = object["name"] {
                _ = string(value, at: object.path("name"))
            }
            var key: String?
            if let value = object["key"], let text = nonEmptyString(value, at: object.path("key")) {
                // Never echo the secret in a message: it would end up in logs.
                if !text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
                    report(
                        object.path("key"),
                        value,
                        "must be printable ASCII without spaces (it is sent in the X-API-KEY header)"
                    )
                } else if let first = firstUse[text] {
                    report(object.path("key"), value, "the same key is already listed at \(first)")
                } else {
                    firstUse[text] = object.path("key")
                    key = text
                }
            } else if object["key"] == nil {
                missing(object, "key")
            }
            var role: AdminConfig.Role?
            if let value = object["role"] {
                role = choice(value, at: object.path("role"), as: AdminConfig.Role.self)
            } else {
                missing(object, "role", " (admin or viewer)")
            }
            if let key, let role {
                result.append(AdminConfig.Key(key: key, role: role))
            }
        }
        return result
    }

    private mutating func networks(_ node: Node, at path: String) -> [IPNetwork]? {
        guard let items = list(node, at: path, allowSingle: true) else { return nil }
        guard !items.isEmpty else {
            report(
                path,
                node,
                "needs at least one network, such as \"127.0.0.0/8\" (\"0.0.0.0/0\" and \"::/0\" allow every client)"
            )
            return nil
        }
        var result: [IPNetwork] = []
        for item in items {
            guard let text = nonEmptyString(item.node, at: item.path) else { continue }
            do {
                let network = try IPNetwork(parsing: text)
                if result.contains(network) {
                    report(item.path, item.node, "\(network) is listed twice")
                } else {
                    result.append(network)
                }
            } catch {
                report(item.path, item.node, error.reason)
            }
        }
        return result.count == items.count ? result : nil
    }
}
