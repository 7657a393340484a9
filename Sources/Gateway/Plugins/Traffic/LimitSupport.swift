/// Settings and answers the `limit-count`, `limit-req` and `limit-conn` plugins share.
enum LimitSupport {
    /// APISIX's flat settings of the `redis` and `redis-cluster` policies. Accepted, so a configuration
    /// written for APISIX reads; ignored with the `local` policy, as APISIX does. `limit-count` and
    /// `limit-req` run the `redis` policy (``RedisLimitPolicy``); `redis-cluster` is not supported yet.
    static let redisKeys = [
        "redis_host", "redis_port", "redis_username", "redis_password", "redis_database", "redis_timeout",
        "redis_ssl", "redis_ssl_verify", "redis_cluster_nodes", "redis_cluster_name", "redis_cluster_ssl",
        "redis_cluster_ssl_verify",
    ]

    /// The status a rejection gets when `rejected_code` is absent. APISIX's is 503; the gateway's contract
    /// is 429, the status RFC 6585 gives a client that sent too many requests.
    static let defaultRejectedCode = 429

    /// A delay shorter than this is not worth a timer (APISIX sleeps from 1 ms).
    static let minimumDelay: UInt64 = 1_000_000

    /// How far ahead of a worker's `now` another worker's clock reading may be (they are taken at different
    /// moments) and still count as now rather than as one a whole clock period ago.
    static let clockSkew: UInt64 = 60_000

    /// Milliseconds from `then` to `now`, both kept modulo `mask + 1`; 0 when `then` is a little after `now`
    /// (another worker's reading). A gap of a whole period (`mask + 1` ms) or more reads short.
    @inline(__always)
    static func elapsed(from then: UInt64, to now: UInt64, mask: UInt64) -> UInt64 {
        let elapsed = (now &- then) & mask
        return elapsed > mask - clockSkew ? 0 : elapsed
    }

    /// Reads `policy` (default `local`) and, for `redis`, its settings; `.some(nil)` is the local policy,
    /// nil a problem reported. `identity` names the counters in Redis.
    static func readPolicy(
        _ settings: inout PluginSettings,
        plugin: String,
        identity: String,
        allowBatch: Bool,
        degrade: Bool
    ) -> RedisLimitPolicy?? {
        guard settings.has("policy") else { return .some(nil) }
        guard let policy = settings.choice("policy", in: ["local", "redis", "redis-cluster"]) else { return nil }
        switch policy {
        case "redis":
            guard
                let redis = RedisLimitPolicy.read(
                    &settings,
                    plugin: plugin,
                    identity: identity,
                    allowBatch: allowBatch,
                    degrade: degrade
                )
            else { return nil }
            return .some(redis)
        case "redis-cluster":
            settings.report(
                "policy",
                "\"redis-cluster\" is not supported yet: use \"redis\" (one server) or \"local\""
            )
            return nil
        default:
            return .some(nil)
        }
    }

    /// Reads `policy` for a plugin that counts only locally (`limit-conn`).
    static func readLocalPolicy(_ settings: inout PluginSettings) {
        guard settings.has("policy"), let policy = settings.choice("policy", in: ["local", "redis", "redis-cluster"])
        else { return }
        if policy != "local" {
            settings.report(
                "policy",
                "\"\(policy)\" is not supported yet: only \"local\" (counters shared by the gateway's workers)"
            )
        }
    }

    /// The body of a `redis.on_error: deny` rejection.
    static let backendUnavailable: StaticString = "rate limit backend unavailable"

    /// Reads `rejected_code` (200–599) and `rejected_msg` (the message of the JSON body; the code's reason
    /// phrase when absent).
    static func readRejection(_ settings: inout PluginSettings) -> (code: Int, message: PluginText) {
        let code = settings.int("rejected_code", in: 200...599) ?? defaultRejectedCode
        if let message = settings.has("rejected_msg") ? settings.nonEmptyString("rejected_msg") : nil {
            return (code, PluginText(jsonEscaping: message))
        }
        let reason = "\(HTTPStatusText.reason(code))"
        return (code, PluginText(reason == "Status" ? "Too Many Requests" : reason))
    }

    /// A number greater than 0 and at most `maximum`, reported otherwise.
    static func positiveNumber(_ settings: inout PluginSettings, _ key: String, maximum: Double) -> Double? {
        guard let value = settings.number(key, in: 0...maximum) else { return nil }
        guard value > 0 else {
            settings.report(key, "must be greater than 0")
            return nil
        }
        return value
    }

    /// `.delay` for `nanoseconds`, or `.proceed` when that is under ``minimumDelay``.
    @inline(__always)
    static func delay(_ nanoseconds: UInt64) -> PluginVerdict {
        nanoseconds >= minimumDelay ? .delay(nanoseconds: nanoseconds) : .proceed
    }
}
