import Yams

extension ConfigReader {
    static let routeKeys = [
        "id", "uri", "uris", "host", "hosts", "methods", "priority", "upstream_id", "upstream", "client_max_body_size",
        "status", "plugins", "name", "desc", "labels", "service_id", "create_time", "update_time", "slo",
        "tracing", "enable_websocket", "upgrade_protocols", "websocket_idle_timeout",
    ]

    /// Plugins this gateway implements, by APISIX name.

    /// Method names accepted in `methods`.
    static let methodNames = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"]

    /// Reads `routes:`, appends inline upstreams to `config.upstreams`, and checks ids and references.
    mutating func routes(_ node: Node, into config: inout GatewayConfig) {
        guard let items = list(node, at: "routes", allowSingle: false) else { return }
        var firstUse: [String: String] = [:]
        var references: [(index: Int, id: String, node: Node, path: String)] = []
        for item in items {
            guard let object = fields(item.node, at: item.path, allowed: Self.routeKeys) else { continue }
            var route = RouteConfig(id: "", uris: [])
            if let value = object["id"], let id = identifier(value, at: object.path("id")) {
                route.id = id
                if let first = firstUse[id] {
                    report(object.path("id"), value, "duplicate route id \"\(id)\" (first used by \(first))")
                } else {
                    firstUse[id] = item.path
                }
            } else if object["id"] == nil {
                missing(object, "id")
            }
            route.uris = patterns(object, single: "uri", plural: "uris", required: true) { text throws(PatternError) in
                _ = try PathPattern(parsing: text)
                return text
            }
            route.hosts = patterns(object, single: "host", plural: "hosts", required: false) {
                text throws(PatternError) in
                switch try HostPattern(parsing: text) {
                case .exact(let name): return name
                case .wildcard(let suffix): return "*" + suffix
                }
            }
            if let value = object["methods"] {
                route.methods = methods(value, at: object.path("methods"))
            }
            if let value = object["priority"],
                let priority = int(value, at: object.path("priority"), in: -1_000_000...1_000_000)
            {
                route.priority = priority
            }
            if let value = object["client_max_body_size"],
                let size = size(value, at: object.path("client_max_body_size"), allowZero: true)
            {
                route.clientMaxBodySize = size
            }
            if let value = object["status"], let status = int(value, at: object.path("status"), in: 0...1) {
                route.enabled = status == 1
            }
            if let value = object["plugins"] {
                let section = plugins(value, at: object.path("plugins"), scope: .route(route.id))
                route.mocking = section.mock
                route.plugins = section.specs
            }
            if let value = object["slo"] {
                route.slo = slo(value, at: object.path("slo"))
            }
            if let value = object["tracing"],
                let tracing = fields(value, at: object.path("tracing"), allowed: ["sampling_ratio"]),
                let ratio = tracing["sampling_ratio"]
            {
                route.tracingSamplingRatio = fraction(ratio, at: tracing.path("sampling_ratio"), allowZero: true)
            }
            upgrades(object, into: &route)
            descriptive(object)
            if let value = object["upstream_id"], object["upstream"] != nil {
                report(object.path("upstream_id"), value, "use either upstream_id or an inline upstream, not both")
            } else if let value = object["upstream_id"], let id = nonEmptyString(value, at: object.path("upstream_id"))
            {
                route.upstreamID = id
                references.append((config.routes.count, id, value, object.path("upstream_id")))
            } else if let value = object["upstream"] {
                let inlineID = "route:\(route.id.isEmpty ? item.path : route.id)"
                if let upstream = upstream(value, at: object.path("upstream"), inlineID: inlineID) {
                    config.upstreams.append(upstream)
                    route.upstreamID = inlineID
                }
            } else if route.mocking == nil && object["service_id"] == nil {
                report(
                    item.path,
                    item.node,
                    "a route needs upstream_id, an inline upstream, service_id, or plugins.mocking"
                )
            }
            if let value = object["service_id"], let id = nonEmptyString(value, at: object.path("service_id")) {
                if let service = config.services.first(where: { $0.id == id }) {
                    // The route's own upstream and plugins win; what it lacks comes from the service.
                    if route.upstreamID == nil && route.mocking == nil {
                        route.upstreamID = service.upstreamID
                        route.mocking = service.mocking
                        if service.upstreamID == nil && service.mocking == nil {
                            report(object.path("service_id"), value, "service \"\(id)\" has no upstream")
                        }
                    }
                    // APISIX merges by name: the route's settings of a plugin replace the service's.
                    let own = Set(route.plugins.map(\.name))
                    route.plugins = service.plugins.filter { !own.contains($0.name) } + route.plugins
                    route.serviceID = id
                } else {
                    let names = config.services.map { "\"\($0.id)\"" }.joined(separator: ", ")
                    report(
                        object.path("service_id"),
                        value,
                        "no service has id \"\(id)\"\(names.isEmpty ? "; declare it under `services:`" : " (known: \(names))")"
                    )
                }
            }
            // Kept even when invalid: any issue fails the load, and the count stays right for messages.
            config.routes.append(route)
        }
        let known = Set(config.upstreams.map(\.id))
        for reference in references where !known.contains(reference.id) {
            let names = config.upstreams.map { "\"\($0.id)\"" }.joined(separator: ", ")
            report(
                reference.path,
                reference.node,
                "no upstream has id \"\(reference.id)\"\(names.isEmpty ? "; declare it under `upstreams:`" : " (known: \(names))")"
            )
        }
    }

    /// Reads `enable_websocket`, `upgrade_protocols` and `websocket_idle_timeout`.
    private mutating func upgrades(_ object: ConfigFields, into route: inout RouteConfig) {
        if let value = object["enable_websocket"], let enabled = bool(value, at: object.path("enable_websocket")) {
            route.enableWebSocket = enabled
        }
        if let value = object["upgrade_protocols"],
            let items = list(value, at: object.path("upgrade_protocols"), allowSingle: true)
        {
            for item in items {
                guard let text = nonEmptyString(item.node, at: item.path) else { continue }
                // Upgrade tokens compare case-insensitively (RFC 9110 §7.8); a version suffix is part of one.
                guard text.utf8.allSatisfy({ Self.isTokenByte($0) || $0 == UInt8(ascii: "/") }) else {
                    report(item.path, item.node, "\"\(text)\" is not a protocol token (for example h2c or websocket)")
                    continue
                }
                let token = text.lowercased()
                if !route.upgradeProtocols.contains(token) { route.upgradeProtocols.append(token) }
            }
        }
        if let value = object["websocket_idle_timeout"],
            let timeout = duration(value, at: object.path("websocket_idle_timeout"))
        {
            route.websocketIdleTimeout = timeout
        }
    }

    /// Reads `uri`/`uris` (or `host`/`hosts`): one string or a list, each checked by `check`.
    private mutating func patterns(
        _ object: ConfigFields,
        single: String,
        plural: String,
        required: Bool,
        check: (String) throws(PatternError) -> String
    ) -> [String] {
        if let value = object[single], object[plural] != nil {
            report(object.path(single), value, "use either \(single) or \(plural), not both")
            return []
        }
        let key = object[plural] != nil ? plural : single
        guard let node = object[key] else {
            if required { missing(object, plural, " (for example uris: [\"/api/*\"])") }
            return []
        }
        guard let items = list(node, at: object.path(key), allowSingle: true) else { return [] }
        if items.isEmpty && required {
            report(object.path(key), node, "needs at least one pattern")
        }
        var result: [String] = []
        for item in items {
            guard let text = nonEmptyString(item.node, at: item.path) else { continue }
            do {
                let normalized = try check(text)
                if !result.contains(normalized) {
                    result.append(normalized)
                }
            } catch {
                report(item.path, item.node, error.reason)
            }
        }
        return result
    }

    private mutating func methods(_ node: Node, at path: String) -> [HTTPMethod] {
        guard let items = list(node, at: path, allowSingle: true) else { return [] }
        var result: [HTTPMethod] = []
        for item in items {
            guard let name = string(item.node, at: item.path) else { continue }
            guard Self.methodNames.contains(name), let method = HTTPMethod(name: name) else {
                let hint = Self.methodNames.contains(name.uppercased()) ? "; method names are upper case" : ""
                report(
                    item.path,
                    item.node,
                    "unknown method \"\(name)\"\(hint) (use \(Self.methodNames.joined(separator: ", ")))"
                )
                continue
            }
            if !result.contains(method) {
                result.append(method)
            }
        }
        return result
    }

    mutating func mocking(_ node: Node, at path: String) -> MockResponse? {
        let keys = ["response_status", "response_example", "content_type", "response_headers"]
        guard let object = fields(node, at: path, allowed: keys) else { return nil }
        var mock = MockResponse()
        if let value = object["response_status"],
            let status = int(value, at: object.path("response_status"), in: 100...599)
        {
            mock.status = status
        }
        if let value = object["response_example"], let body = string(value, at: object.path("response_example")) {
            mock.body = body
        }
        if let value = object["content_type"], let type = nonEmptyString(value, at: object.path("content_type")) {
            if Self.isHeaderValue(type) {
                mock.contentType = type
            } else {
                report(object.path("content_type"), value, "must not contain control characters")
            }
        }
        if let value = object["response_headers"] {
            guard let headers = value.mapping else {
                report(
                    object.path("response_headers"),
                    value,
                    "expected a mapping of header names to values, found \(Self.kind(value))"
                )
                return nil
            }
            for (key, headerValue) in headers {
                let name = key.scalar?.string ?? ""
                let headerPath = "\(object.path("response_headers")).\(name)"
                guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte) else {
                    report(headerPath, key, "\"\(name)\" is not a valid header name")
                    continue
                }
                guard let text = string(headerValue, at: headerPath) else { continue }
                guard Self.isHeaderValue(text) else {
                    report(headerPath, headerValue, "header values must not contain control characters")
                    continue
                }
                mock.headers.append(MockResponse.Header(name: name, value: text))
            }
        }
        return mock
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    private static func isHeaderValue(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }
    }
}
