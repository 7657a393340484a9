import Yams

extension ConfigReader {
    static let serviceKeys = [
        "id", "upstream_id", "upstream", "plugins", "name", "desc", "labels", "create_time", "update_time",
    ]
    static let consumerKeys = ["username", "plugins", "desc", "labels", "create_time", "update_time"]
    static let credentialKeys = ["id", "consumer", "plugins", "name", "desc", "labels", "create_time", "update_time"]
    static let globalRuleKeys = ["id", "plugins", "create_time", "update_time"]

    /// Reads `services:` (before routes, which may name them); inline upstreams join `config.upstreams`.
    mutating func services(_ node: Node, into config: inout GatewayConfig) {
        guard let items = list(node, at: "services", allowSingle: false) else { return }
        var firstUse: [String: String] = [:]
        let known = Set(config.upstreams.map(\.id))
        for item in items {
            guard let object = fields(item.node, at: item.path, allowed: Self.serviceKeys) else { continue }
            var service = ServiceConfig(id: "")
            service.id = uniqueIdentifier(object, "id", of: "service", at: item.path, firstUse: &firstUse) ?? ""
            if let value = object["plugins"] {
                let section = plugins(value, at: object.path("plugins"), scope: .service(service.id))
                service.mocking = section.mock
                service.plugins = section.specs
            }
            descriptive(object)
            if let value = object["upstream_id"], object["upstream"] != nil {
                report(object.path("upstream_id"), value, "use either upstream_id or an inline upstream, not both")
            } else if let value = object["upstream_id"], let id = nonEmptyString(value, at: object.path("upstream_id"))
            {
                if known.contains(id) {
                    service.upstreamID = id
                } else {
                    report(object.path("upstream_id"), value, "no upstream has id \"\(id)\"")
                }
            } else if let value = object["upstream"] {
                let inlineID = "service:\(service.id.isEmpty ? item.path : service.id)"
                if let upstream = upstream(value, at: object.path("upstream"), inlineID: inlineID) {
                    config.upstreams.append(upstream)
                    service.upstreamID = inlineID
                }
            }
            config.services.append(service)
        }
    }

    /// Reads `consumers:`: unique usernames; their plugins are checked like a route's.
    mutating func consumers(_ node: Node, into config: inout GatewayConfig) {
        guard let items = list(node, at: "consumers", allowSingle: false) else { return }
        var firstUse: [String: String] = [:]
        for item in items {
            guard let object = fields(item.node, at: item.path, allowed: Self.consumerKeys) else { continue }
            guard
                let username = uniqueIdentifier(object, "username", of: "consumer", at: item.path, firstUse: &firstUse)
            else { continue }
            var consumer = ConsumerConfig(username: username)
            if let value = object["plugins"] {
                let section = plugins(value, at: object.path("plugins"), scope: .consumer(username), consumer: true)
                if section.mock != nil {
                    report(object.path("plugins.mocking"), value, "a consumer cannot answer requests")
                }
                consumer.credentials = section.credentials
                consumer.plugins = section.specs
            }
            for key in ["desc"] where object[key] != nil { _ = string(object[key]!, at: object.path(key)) }
            config.consumers.append(consumer)
        }
    }

    /// Reads `credentials:` (kept by the Admin API for `/consumers/{username}/credentials/{id}`).
    mutating func credentials(_ node: Node, into config: inout GatewayConfig) {
        guard let items = list(node, at: "credentials", allowSingle: false) else { return }
        let consumers = Set(config.consumers.map(\.username))
        for item in items {
            guard let object = fields(item.node, at: item.path, allowed: Self.credentialKeys) else { continue }
            var credential = CredentialConfig(id: "", consumer: "")
            if let value = object["id"], let id = identifier(value, at: object.path("id")) {
                credential.id = id
            } else if object["id"] == nil {
                missing(object, "id")
            }
            if let value = object["consumer"], let consumer = nonEmptyString(value, at: object.path("consumer")) {
                if consumers.contains(consumer) {
                    credential.consumer = consumer
                } else {
                    report(object.path("consumer"), value, "no consumer has username \"\(consumer)\"")
                }
            } else if object["consumer"] == nil {
                missing(object, "consumer")
            }
            if let value = object["plugins"] {
                let section = plugins(
                    value,
                    at: object.path("plugins"),
                    scope: .consumer(credential.consumer),
                    consumer: true
                )
                credential.credentials = section.credentials
                for spec in section.specs {
                    report(
                        spec.path,
                        value,
                        "a credential holds authentication plugins only (key-auth, basic-auth, jwt-auth, client-cert-auth)"
                    )
                }
            }
            descriptive(object)
            config.credentials.append(credential)
        }
    }

    /// Reads `global_rules:`: plugins that apply to every request, checked like a route's.
    mutating func globalRules(_ node: Node, into config: inout GatewayConfig) {
        guard let items = list(node, at: "global_rules", allowSingle: false) else { return }
        var firstUse: [String: String] = [:]
        for item in items {
            guard let object = fields(item.node, at: item.path, allowed: Self.globalRuleKeys) else { continue }
            var rule = GlobalRuleConfig(id: "")
            rule.id = uniqueIdentifier(object, "id", of: "global rule", at: item.path, firstUse: &firstUse) ?? ""
            if let value = object["plugins"] {
                let section = plugins(value, at: object.path("plugins"), scope: .globalRule(rule.id))
                if section.mock != nil { report(object.path("plugins.mocking"), value, "mocking belongs on a route") }
                rule.plugins = section.specs
            } else {
                missing(object, "plugins")
            }
            config.globalRules.append(rule)
        }
    }

    /// Reads the identifier at `key`, reporting it missing, malformed, or already used by another entry
    /// of the same section (`firstUse` maps ids to the path of their first entry).
    mutating func uniqueIdentifier(
        _ object: ConfigFields,
        _ key: String,
        of kind: String,
        at itemPath: String,
        firstUse: inout [String: String]
    ) -> String? {
        guard let value = object[key] else {
            missing(object, key)
            return nil
        }
        guard let id = identifier(value, at: object.path(key)) else { return nil }
        if let first = firstUse[id] {
            report(object.path(key), value, "duplicate \(kind) \(key) \"\(id)\" (first used by \(first))")
        } else {
            firstUse[id] = itemPath
        }
        return id
    }
}
