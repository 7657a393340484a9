import Yams

extension ConfigReader {
    static let activeCheckKeys = [
        "type", "http_path", "host", "port", "timeout", "concurrency", "healthy", "unhealthy",
        "https_verify_certificate",
    ]
    static let circuitBreakerKeys = [
        "enabled", "consecutive_failures", "failure_ratio", "min_requests", "window", "base_ejection_time",
        "max_ejection_time", "max_ejection_percent", "half_open_requests", "jitter",
    ]
    /// APISIX's bounds for health-check counters.
    static let checkCounterRange = 1...254

    /// Reads `checks`, `circuit_breaker`, `retry_on`, `retry_budget`, `retry_backoff`, `hash_on` and `key`.
    mutating func resilience(_ object: ConfigFields, into upstream: inout UpstreamConfig) {
        if let value = object["checks"],
            let checks = fields(value, at: object.path("checks"), allowed: ["active", "passive"])
        {
            var config = HealthChecksConfig()
            if let value = checks["active"] { config.active = activeCheck(value, at: checks.path("active")) }
            if let value = checks["passive"] { config.passive = passiveCheck(value, at: checks.path("passive")) }
            if checks["active"] == nil && checks["passive"] == nil {
                report(checks.path, value, "needs `active`, `passive` or both")
            }
            upstream.checks = config
        }
        if let value = object["circuit_breaker"] {
            circuitBreaker(value, at: object.path("circuit_breaker"), into: &upstream.circuitBreaker)
        }
        if let value = object["retry_on"], let items = list(value, at: object.path("retry_on"), allowSingle: true) {
            var conditions: [RetryPolicy.Condition] = []
            for item in items {
                guard let condition = choice(item.node, at: item.path, as: RetryPolicy.Condition.self) else { continue }
                if !conditions.contains(condition) { conditions.append(condition) }
            }
            upstream.retryPolicy.retryOn = conditions
        }
        if let value = object["retry_budget"],
            let budget = fields(value, at: object.path("retry_budget"), allowed: ["percent", "min_retries"])
        {
            if let v = budget["percent"], let n = int(v, at: budget.path("percent"), in: 0...100) {
                upstream.retryPolicy.budget.percent = n
            }
            if let v = budget["min_retries"], let n = int(v, at: budget.path("min_retries"), in: 0...100_000) {
                upstream.retryPolicy.budget.minRetries = n
            }
        }
        if let value = object["retry_backoff"],
            let backoff = fields(value, at: object.path("retry_backoff"), allowed: ["base", "max"])
        {
            if let v = backoff["base"], let d = duration(v, at: backoff.path("base"), allowZero: true) {
                upstream.retryPolicy.backoff.base = d
            }
            if let v = backoff["max"], let d = duration(v, at: backoff.path("max"), allowZero: true) {
                if d < upstream.retryPolicy.backoff.base {
                    report(backoff.path("max"), v, "must not be less than retry_backoff.base")
                } else {
                    upstream.retryPolicy.backoff.max = d
                }
            }
        }
        hashing(object, into: &upstream)
    }

    private mutating func hashing(_ object: ConfigFields, into upstream: inout UpstreamConfig) {
        let isHash = upstream.type == .chash
        if let value = object["hash_on"] {
            // APISIX's Admin API writes its default `hash_on: vars` into every upstream it stores (etcd).
            if !isHash, value.string == "vars" {
                // Nothing to hash: the default is harmless.
            } else if !isHash {
                report(object.path("hash_on"), value, "is only used with type: chash")
            } else if let hashOn = choice(value, at: object.path("hash_on"), as: UpstreamConfig.HashOn.self) {
                upstream.hashOn = hashOn
            }
        }
        guard let value = object["key"] else {
            if isHash && upstream.hashOn != .vars {
                missing(
                    object,
                    "key",
                    " (the \(upstream.hashOn.rawValue) name to hash with hash_on: \(upstream.hashOn.rawValue))"
                )
            }
            return
        }
        guard isHash else {
            report(object.path("key"), value, "is only used with type: chash")
            return
        }
        guard let key = nonEmptyString(value, at: object.path("key")) else { return }
        switch upstream.hashOn {
        case .vars:
            guard key == "remote_addr" else {
                report(object.path("key"), value, "\"\(key)\" is not supported with hash_on: vars; use \"remote_addr\"")
                return
            }
            upstream.hashKey = key
        case .header, .cookie:
            guard key.utf8.allSatisfy(Self.isTokenByte) else {
                report(object.path("key"), value, "\"\(key)\" is not a valid \(upstream.hashOn.rawValue) name")
                return
            }
            upstream.hashKey = upstream.hashOn == .header ? key.lowercased() : key
        }
    }

    private mutating func activeCheck(_ node: Node, at path: String) -> ActiveHealthCheck? {
        guard let object = fields(node, at: path, allowed: Self.activeCheckKeys) else { return nil }
        var check = ActiveHealthCheck()
        if let v = object["type"], let kind = choice(v, at: object.path("type"), as: ActiveHealthCheck.Kind.self) {
            check.type = kind
        }
        if let v = object["http_path"], let text = nonEmptyString(v, at: object.path("http_path")) {
            if text.first != "/" || text.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
                report(
                    object.path("http_path"),
                    v,
                    "\"\(text)\" must start with \"/\" and contain no spaces or controls"
                )
            } else {
                check.httpPath = text
            }
        }
        if let v = object["host"], let host = nonEmptyString(v, at: object.path("host")) {
            if (try? HostPort.split(host, defaultPort: 80)) == nil || host.contains(where: { $0 == "/" || $0 == " " }) {
                report(object.path("host"), v, "\"\(host)\" is not a host or host:port")
            } else {
                check.host = host
            }
        }
        if let v = object["port"], let port = int(v, at: object.path("port"), in: 1...65535) {
            check.port = UInt16(port)
        }
        if let v = object["timeout"], let d = duration(v, at: object.path("timeout")) { check.timeout = d }
        if let v = object["concurrency"], let n = int(v, at: object.path("concurrency"), in: 1...10_000) {
            check.concurrency = n
        }
        if let v = object["https_verify_certificate"],
            let verify = bool(v, at: object.path("https_verify_certificate"))
        {
            check.verifyCertificate = verify
        }
        if let value = object["healthy"],
            let healthy = fields(
                value,
                at: object.path("healthy"),
                allowed: ["interval", "successes", "http_statuses"]
            )
        {
            if let v = healthy["interval"], let d = duration(v, at: healthy.path("interval")) {
                check.healthy.interval = d
            }
            if let v = healthy["successes"], let n = int(v, at: healthy.path("successes"), in: Self.checkCounterRange) {
                check.healthy.successes = n
            }
            if let v = healthy["http_statuses"], let list = statuses(v, at: healthy.path("http_statuses")) {
                check.healthy.httpStatuses = list
            }
        }
        if let value = object["unhealthy"],
            let unhealthy = fields(
                value,
                at: object.path("unhealthy"),
                allowed: ["interval", "http_failures", "tcp_failures", "timeouts", "http_statuses"]
            )
        {
            if let v = unhealthy["interval"], let d = duration(v, at: unhealthy.path("interval")) {
                check.unhealthy.interval = d
            }
            if let n = counter(unhealthy, "http_failures") { check.unhealthy.httpFailures = n }
            if let n = counter(unhealthy, "tcp_failures") { check.unhealthy.tcpFailures = n }
            if let n = counter(unhealthy, "timeouts") { check.unhealthy.timeouts = n }
            if let v = unhealthy["http_statuses"], let list = statuses(v, at: unhealthy.path("http_statuses")) {
                check.unhealthy.httpStatuses = list
            }
        }
        overlap(check.healthy.httpStatuses, check.unhealthy.httpStatuses, object)
        return check
    }

    private mutating func passiveCheck(_ node: Node, at path: String) -> PassiveHealthCheck? {
        guard let object = fields(node, at: path, allowed: ["type", "healthy", "unhealthy"]) else { return nil }
        var check = PassiveHealthCheck()
        if let v = object["type"], let kind = choice(v, at: object.path("type"), as: ActiveHealthCheck.Kind.self) {
            check.type = kind
        }
        if let value = object["healthy"],
            let healthy = fields(value, at: object.path("healthy"), allowed: ["http_statuses", "successes"])
        {
            if let v = healthy["successes"], let n = int(v, at: healthy.path("successes"), in: Self.checkCounterRange) {
                check.healthy.successes = n
            }
            if let v = healthy["http_statuses"], let list = statuses(v, at: healthy.path("http_statuses")) {
                check.healthy.httpStatuses = list
            }
        }
        if let value = object["unhealthy"],
            let unhealthy = fields(
                value,
                at: object.path("unhealthy"),
                allowed: ["http_statuses", "http_failures", "tcp_failures", "timeouts"]
            )
        {
            if let n = counter(unhealthy, "http_failures") { check.unhealthy.httpFailures = n }
            if let n = counter(unhealthy, "tcp_failures") { check.unhealthy.tcpFailures = n }
            if let n = counter(unhealthy, "timeouts") { check.unhealthy.timeouts = n }
            if let v = unhealthy["http_statuses"], let list = statuses(v, at: unhealthy.path("http_statuses")) {
                check.unhealthy.httpStatuses = list
            }
        }
        overlap(check.healthy.httpStatuses, check.unhealthy.httpStatuses, object)
        return check
    }

    private mutating func circuitBreaker(_ node: Node, at path: String, into config: inout CircuitBreakerConfig) {
        guard let object = fields(node, at: path, allowed: Self.circuitBreakerKeys) else { return }
        if let v = object["enabled"], let flag = bool(v, at: object.path("enabled")) { config.enabled = flag }
        if let v = object["consecutive_failures"],
            let n = int(v, at: object.path("consecutive_failures"), in: 1...100_000)
        {
            config.consecutiveFailures = n
        }
        if let v = object["failure_ratio"], let ratio = fraction(v, at: object.path("failure_ratio"), allowZero: false)
        {
            config.failureRatio = ratio
        }
        if let v = object["min_requests"], let n = int(v, at: object.path("min_requests"), in: 1...1_000_000) {
            config.minRequests = n
        }
        if let v = object["window"], let d = duration(v, at: object.path("window")) { config.window = d }
        if let v = object["base_ejection_time"], let d = duration(v, at: object.path("base_ejection_time")) {
            config.baseEjectionTime = d
        }
        if let v = object["max_ejection_time"], let d = duration(v, at: object.path("max_ejection_time")) {
            if d < config.baseEjectionTime {
                report(object.path("max_ejection_time"), v, "must not be less than base_ejection_time")
            } else {
                config.maxEjectionTime = d
            }
        }
        if let v = object["max_ejection_percent"], let n = int(v, at: object.path("max_ejection_percent"), in: 0...100)
        {
            config.maxEjectionPercent = n
        }
        if let v = object["half_open_requests"], let n = int(v, at: object.path("half_open_requests"), in: 1...1000) {
            config.halfOpenRequests = n
        }
        if let v = object["jitter"], let value = fraction(v, at: object.path("jitter"), allowZero: true) {
            config.jitter = value
        }
    }

    /// A health-check failure counter in APISIX's range 1...254.
    private mutating func counter(_ object: ConfigFields, _ key: String) -> Int? {
        guard let value = object[key] else { return nil }
        return int(value, at: object.path(key), in: Self.checkCounterRange)
    }

    /// A non-empty list of distinct HTTP statuses, each 200...599 (APISIX's range).
    private mutating func statuses(_ node: Node, at path: String) -> [Int]? {
        guard let items = list(node, at: path, allowSingle: false) else { return nil }
        guard !items.isEmpty else {
            report(path, node, "needs at least one status")
            return nil
        }
        var result: [Int] = []
        var valid = true
        for item in items {
            guard let status = int(item.node, at: item.path, in: 200...599) else {
                valid = false
                continue
            }
            if result.contains(status) {
                report(item.path, item.node, "status \(status) is listed twice")
                valid = false
            }
            result.append(status)
        }
        return valid ? result : nil
    }

    /// A number in 0...1 (0 excluded unless `allowZero`).
    mutating func fraction(_ node: Node, at path: String, allowZero: Bool) -> Double? {
        guard case .scalar(let scalar) = node, node.tagName == .int || node.tagName == .float, let value = node.float,
            value.isFinite
        else {
            report(path, node, "expected a number from 0 to 1, found \(Self.kind(node))")
            return nil
        }
        guard value <= 1, value > 0 || (allowZero && value == 0) else {
            report(
                path,
                node,
                "must be \(allowZero ? "from 0" : "more than 0 and at most") \(allowZero ? "to 1" : "1"), not \(scalar.string)"
            )
            return nil
        }
        return value
    }

    /// Reports a status that is both a success and a failure.
    private mutating func overlap(_ healthy: [Int], _ unhealthy: [Int], _ object: ConfigFields) {
        guard let both = healthy.first(where: unhealthy.contains) else { return }
        report(
            object.path("unhealthy.http_statuses"),
            object["unhealthy"] ?? object.node,
            "status \(both) is also in healthy.http_statuses"
        )
    }

    /// RFC 9110 token characters (header and cookie names).
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
