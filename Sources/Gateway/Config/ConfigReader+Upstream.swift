import Yams

extension ConfigReader {
    static let upstreamKeys = [
        "id", "type", "nodes", "timeout", "keepalive_pool", "scheme", "pass_host", "upstream_host", "retries",
        "retry_timeout", "name", "desc", "labels", "checks", "circuit_breaker", "retry_on", "retry_budget",
        "retry_backoff", "hash_on", "key", "panic_threshold", "create_time", "update_time", "tls",
        "slo",
    ]

    /// Reads one upstream object; `inlineID` is the synthesized id of an inline route upstream.
    /// Returns `nil` only when the node is not a mapping.
    mutating func upstream(_ node: Node, at path: String, inlineID: String?) -> UpstreamConfig? {
        guard let object = fields(node, at: path, allowed: Self.upstreamKeys) else { return nil }
        var upstream = UpstreamConfig(id: inlineID ?? "")
        upstream.sourcePath = path
        if let inlineID, let value = object["id"] {
            report(
                object.path("id"),
                value,
                "an inline upstream takes the id \"\(inlineID)\"; remove `id`, or declare it under `upstreams:` and use upstream_id"
            )
        } else if inlineID == nil {
            if let value = object["id"], let id = identifier(value, at: object.path("id")) {
                upstream.id = id
            } else if object["id"] == nil {
                missing(object, "id")
            }
        }
        if let value = object["type"],
            let type = choice(value, at: object.path("type"), as: UpstreamConfig.BalancerType.self)
        {
            upstream.type = type
        }
        if let value = object["nodes"] {
            upstream.nodes = nodes(value, at: object.path("nodes"))
        } else {
            missing(object, "nodes", " (a map such as {\"127.0.0.1:9001\": 1})")
        }
        if let value = object["timeout"],
            let timeout = fields(value, at: object.path("timeout"), allowed: ["connect", "send", "read"])
        {
            if let v = timeout["connect"], let d = duration(v, at: timeout.path("connect")) {
                upstream.timeout.connect = d
            }
            if let v = timeout["send"], let d = duration(v, at: timeout.path("send")) { upstream.timeout.send = d }
            if let v = timeout["read"], let d = duration(v, at: timeout.path("read")) { upstream.timeout.read = d }
        }
        if let value = object["keepalive_pool"],
            let pool = fields(value, at: object.path("keepalive_pool"), allowed: ["size", "idle_timeout", "requests"])
        {
            if let v = pool["size"], let n = int(v, at: pool.path("size"), in: 0...100_000) {
                upstream.keepalivePool.size = n
            }
            if let v = pool["idle_timeout"], let d = duration(v, at: pool.path("idle_timeout")) {
                upstream.keepalivePool.idleTimeout = d
            }
            if let v = pool["requests"], let n = int(v, at: pool.path("requests"), in: 1...Int.max) {
                upstream.keepalivePool.requests = n
            }
        }
        if let value = object["scheme"],
            let scheme = choice(value, at: object.path("scheme"), as: UpstreamConfig.Scheme.self)
        {
            upstream.scheme = scheme
        }
        if let value = object["tls"] {
            upstream.tls = upstreamTLS(value, at: object.path("tls"))
        }
        if let value = object["pass_host"],
            let passHost = choice(value, at: object.path("pass_host"), as: UpstreamConfig.PassHost.self)
        {
            upstream.passHost = passHost
        }
        if let value = object["upstream_host"], let host = nonEmptyString(value, at: object.path("upstream_host")) {
            if (try? HostPort.split(host, defaultPort: 80)) == nil || host.contains(where: { $0 == "/" || $0 == " " }) {
                report(object.path("upstream_host"), value, "\"\(host)\" is not a host or host:port")
            } else if upstream.passHost != .rewrite {
                report(object.path("upstream_host"), value, "is only used with pass_host: rewrite")
            } else {
                upstream.upstreamHost = host
            }
        } else if upstream.passHost == .rewrite && object["upstream_host"] == nil {
            missing(object, "upstream_host", " (pass_host: rewrite needs the Host to send)")
        }
        if let value = object["retries"], let retries = int(value, at: object.path("retries"), in: 0...100) {
            upstream.retries = retries
        }
        if let value = object["panic_threshold"],
            let percent = int(value, at: object.path("panic_threshold"), in: 0...100)
        {
            upstream.panicThreshold = percent
        }
        if let value = object["retry_timeout"],
            let timeout = duration(value, at: object.path("retry_timeout"), allowZero: true)
        {
            upstream.retryTimeout = timeout
        }
        if let value = object["slo"] {
            upstream.slo = slo(value, at: object.path("slo"))
        }
        resilience(object, into: &upstream)
        descriptive(object)
        // Returned even when invalid, so its id still counts for duplicate and reference checks.
        return upstream
    }

    /// Nodes as a map {"host:port": weight} or a list [{host, port, weight}].
    private mutating func nodes(_ node: Node, at path: String) -> [UpstreamNode] {
        var result: [UpstreamNode] = []
        var seen: Set<String> = []
        func add(_ upstreamNode: UpstreamNode, _ source: Node, _ nodePath: String, into reader: inout ConfigReader) {
            let key = HostPort.format(host: upstreamNode.host.lowercased(), port: upstreamNode.port)
            guard seen.insert(key).inserted else {
                reader.report(nodePath, source, "node \(upstreamNode.address) is listed twice")
                return
            }
            result.append(upstreamNode)
        }
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping {
                let address = key.scalar?.string ?? ""
                let nodePath = "\(path)[\"\(address)\"]"
                guard let (host, port) = nodeAddress(key, address, at: nodePath),
                    let weight = int(value, at: nodePath, in: 0...1_000_000)
                else { continue }
                var upstreamNode = UpstreamNode(host: host, port: port, weight: weight, address: address)
                guard resolve(&upstreamNode, key, at: nodePath) else { continue }
                add(upstreamNode, key, nodePath, into: &self)
            }
        case .sequence(let sequence):
            for (index, item) in sequence.enumerated() {
                let nodePath = "\(path)[\(index)]"
                guard let object = fields(item, at: nodePath, allowed: ["host", "port", "weight"]) else { continue }
                var host: String?
                var port: UInt16 = 80
                var weight: Int?
                if let value = object["host"], let text = nonEmptyString(value, at: object.path("host")) {
                    host = nodeHost(value, text, at: object.path("host"))
                } else if object["host"] == nil {
                    missing(object, "host")
                }
                if let value = object["port"] {
                    guard let number = int(value, at: object.path("port"), in: 1...65535) else { continue }
                    port = UInt16(number)
                }
                if let value = object["weight"] {
                    weight = int(value, at: object.path("weight"), in: 0...1_000_000)
                } else {
                    missing(object, "weight")
                }
                guard let host, let weight else { continue }
                var upstreamNode = UpstreamNode(host: host, port: port, weight: weight)
                guard resolve(&upstreamNode, item, at: nodePath) else { continue }
                add(upstreamNode, item, nodePath, into: &self)
            }
        default:
            report(
                path,
                node,
                "expected a map {\"host:port\": weight} or a list of {host, port, weight}, found \(Self.kind(node))"
            )
            return []
        }
        if result.isEmpty && node.mapping?.isEmpty ?? node.sequence?.isEmpty ?? false {
            report(path, node, "needs at least one node")
        }
        return result
    }

    private mutating func nodeAddress(_ key: Node, _ address: String, at path: String) -> (String, UInt16)? {
        guard case .scalar = key, !address.isEmpty else {
            report(path, key, "node keys must be \"host:port\" strings")
            return nil
        }
        let parts: (host: String, port: UInt16)
        do {
            parts = try HostPort.split(address, defaultPort: 80)
        } catch {
            report(path, key, error.reason)
            return nil
        }
        guard parts.port != 0 else {
            report(path, key, "node port must be from 1 to 65535")
            return nil
        }
        guard let host = nodeHost(key, parts.host, at: path) else { return nil }
        return (host, parts.port)
    }

    private mutating func nodeHost(_ node: Node, _ host: String, at path: String) -> String? {
        guard IPAddress.isIPv4(host) || IPAddress.isIPv6(host) || HostPort.isHostname(host) else {
            report(path, node, "\"\(host)\" is not an IP address or host name")
            return nil
        }
        return host
    }

    /// Fills `node.resolved` when resolution is on; a failure is reported at the node's path.
    private mutating func resolve(_ node: inout UpstreamNode, _ source: Node, at path: String) -> Bool {
        guard resolveHostnames else { return true }
        let cacheKey = HostPort.format(host: node.host, port: node.port)
        let result: Result<[ResolvedAddress], UpstreamNode.ResolutionError>
        if let cached = resolved[cacheKey] {
            result = cached
        } else {
            let upstreamNode = node
            result = Result { () throws(UpstreamNode.ResolutionError) in try upstreamNode.resolve() }
            resolved[cacheKey] = result
        }
        switch result {
        case .success(let addresses):
            node.resolved = addresses
            return true
        case .failure(let error):
            report(path, source, error.reason)
            return false
        }
    }
}
