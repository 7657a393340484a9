/// The `redis` policy of `limit-count` and `limit-req`: where the cluster-wide counters live, how many
/// permits a worker leases at a time, and what happens while Redis cannot answer.
///
/// Read from `redis: {host, port, username, password, database, timeout, batch, on_error}` (`timeout` in
/// seconds, as the gateway's other timeouts), or from APISIX's flat keys (`redis_host`, `redis_port`,
/// `redis_username`, `redis_password`, `redis_database`, `redis_timeout` in milliseconds).
package final class RedisLimitPolicy: Sendable {
    /// What a request gets while Redis is unreachable, slow or answers with an error.
    package enum OnError: String, Sendable {
        /// Let it through.
        case allow
        /// Reject it with 503.
        case deny
        /// Count it in this gateway's own table, as the `local` policy does (the default).
        case local
    }

    /// Why a call to Redis failed, as `gateway_rate_limit_backend_errors_total` labels it.
    package enum Failure: Int, Sendable, CaseIterable {
        /// No connection: connecting failed, or it broke and waits to reconnect.
        case unavailable
        /// No answer within `timeout`.
        case timeout
        /// Redis answered with an error (a script missing, memory full, wrong password, ...).
        case reply
        /// The worker's queue for Redis was full.
        case overflow

        var label: String {
            switch self {
            case .unavailable: "unavailable"
            case .timeout: "timeout"
            case .reply: "reply"
            case .overflow: "overflow"
            }
        }
    }

    /// The endpoint's index in ``RedisEndpointRegistry/process`` (its connection on each worker).
    package let endpoint: Int
    /// Permits one call takes (`batch`, 1 without batching).
    package let batch: Int
    package let onError: OnError
    /// Identifies the plugin instance's counters in Redis (its scope and settings, or its group), the
    /// same on every gateway with the same configuration.
    package let scope: UInt64
    private let failures: [PluginCounter]
    private let calls: PluginCounter

    /// Settings keys `redis` may hold.
    static let nestedKeys = ["host", "port", "username", "password", "database", "timeout", "batch", "on_error"]

    /// The largest `batch`.
    static let maximumBatch = 1_000_000

    /// Reads the redis policy's settings of `plugin` (`policy: redis` was given); nil after reporting a
    /// problem. `identity` names the counters (the plugin's scope and settings, or its group).
    static func read(
        _ settings: inout PluginSettings,
        plugin: String,
        identity: String,
        allowBatch: Bool,
        degrade: Bool
    ) -> RedisLimitPolicy? {
        let start = settings.issueCount
        let flatKeys = LimitSupport.redisKeys.filter { settings.has($0) }
        var host: String?
        var port = 6379
        var username: String?
        var password: String?
        var database = 0
        var timeout = 1.0
        var batch = 1
        var onError: OnError = degrade ? .allow : .local
        if settings.has("redis") {
            if let conflicting = flatKeys.first {
                settings.report(conflicting, "give the redis settings either in \"redis\" or as redis_* keys, not both")
            }
            guard var nested = settings.object("redis", allowed: nestedKeys) else { return nil }
            if !nested.has("host") { nested.missing("host") }
            host = nested.nonEmptyString("host")
            port = nested.int("port", in: 1...65535) ?? port
            username = nested.has("username") ? nested.nonEmptyString("username") : nil
            password = nested.has("password") ? nested.string("password") : nil
            database = nested.int("database", in: 0...1_000_000) ?? 0
            timeout = nested.number("timeout", in: 0.001...3600) ?? timeout
            if nested.has("batch") {
                if allowBatch {
                    batch = nested.int("batch", in: 1...maximumBatch) ?? batch
                } else {
                    nested.report("batch", "leases apply to limit-count only (limit-req's bucket drains continuously)")
                }
            }
            if nested.has("on_error"), let choice = nested.choice("on_error", in: ["allow", "deny", "local"]) {
                onError = OnError(rawValue: choice) ?? .local
            }
            settings.merge(nested)
        } else {
            if !settings.has("redis_host") { settings.missing("redis_host") }
            host = settings.nonEmptyString("redis_host")
            port = settings.int("redis_port", in: 1...65535) ?? port
            username = settings.has("redis_username") ? settings.nonEmptyString("redis_username") : nil
            password = settings.has("redis_password") ? settings.string("redis_password") : nil
            database = settings.int("redis_database", in: 0...1_000_000) ?? 0
            timeout = (settings.number("redis_timeout", in: 1...3_600_000) ?? 1000) / 1000
        }
        guard settings.issueCount == start, let host else { return nil }
        let endpoint = RedisEndpoint(
            host: host,
            port: UInt16(port),
            username: username,
            password: password?.isEmpty == true ? nil : password,
            database: database,
            timeout: UInt64(timeout * 1e9)
        )
        let address: ResolvedAddress
        do {
            guard let first = try UpstreamNode(host: host, port: UInt16(port), weight: 1).resolve().first else {
                return nil
            }
            address = first
        } catch {
            settings.report(settings.has("redis") ? "redis" : "redis_host", "\(error.reason)")
            return nil
        }
        var index = 0
        // Only a plan that will run registers its endpoint; validating one (`gateway check`) leaves the
        // process's registry alone.
        if settings.context.shared != nil {
            guard let registered = RedisEndpointRegistry.process.index(of: endpoint, address: address) else {
                settings.report(
                    settings.has("redis") ? "redis" : "redis_host",
                    "more than \(RedisEndpointRegistry.capacity) distinct redis servers (host, port, user, password, database, timeout) are in use"
                )
                return nil
            }
            index = registered
        }
        return RedisLimitPolicy(
            endpoint: index,
            batch: batch,
            onError: onError,
            scope: FNV1a.hash(identity.utf8),
            failures: Failure.allCases.map { failure in
                PluginCounter(
                    "gateway_rate_limit_backend_errors_total",
                    help:
                        "Rate-limit decisions Redis could not make (by plugin and reason); each one followed redis.on_error.",
                    labels: ["plugin": plugin, "reason": failure.label]
                )
            },
            calls: PluginCounter(
                "gateway_rate_limit_backend_calls_total",
                help: "Calls rate-limit plugins made to Redis (one per request, or one per lease with redis.batch).",
                labels: ["plugin": plugin]
            )
        )
    }

    private init(
        endpoint: Int,
        batch: Int,
        onError: OnError,
        scope: UInt64,
        failures: [PluginCounter],
        calls: PluginCounter
    ) {
        self.endpoint = endpoint
        self.batch = batch
        self.onError = onError
        self.scope = scope
        self.failures = failures
        self.calls = calls
    }

    /// Counts a failed call on the worker running `request`.
    @inline(__always)
    func count(_ failure: Failure, _ request: PluginRequest) {
        failures[failure.rawValue].increment(request)
    }

    /// Counts a call sent to Redis.
    @inline(__always)
    func countCall(_ request: PluginRequest) {
        calls.increment(request)
    }
}
