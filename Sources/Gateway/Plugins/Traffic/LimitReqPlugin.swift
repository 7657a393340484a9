/// `limit-req`: a leaky bucket per key, as nginx's `limit_req` and APISIX's `limit-req` (from
/// lua-resty-limit-traffic) run it. Each request adds one to the key's excess, which drains at `rate`
/// requests a second; a request that would leave more than `burst` excess is rejected (429 unless
/// `rejected_code` says otherwise), and one that leaves some excess waits excess/rate seconds on the
/// worker's timer first, unless `nodelay`.
///
/// The `redis` policy (``RedisLimitPolicy``) keeps the bucket in Redis, updated atomically by one script
/// on Redis's clock, so every gateway sharing the server shares the bucket; `redis.on_error` decides
/// while Redis cannot answer (`local`: this gateway's table).
///
/// The `local` policy keeps one bucket per key for the whole gateway (a ``LimitTable`` every worker
/// shares). A slot packs the last request's time (milliseconds, as nginx keeps it; 36 bits, which wrap
/// after 795 days) and the excess in fixed point: 1000 units a request (as nginx), fewer when `burst` is
/// so large that its excess would not fit in the 28 bits (so `burst` is at most 268,435,455).
package final class LimitReqPlugin: GatewayPlugin {
    package static let descriptor = PluginDescriptor(
        name: "limit-req",
        priority: 1001,
        phases: [.access],
        keys: [
            "rate", "burst", "key_type", "key", "rejected_code", "rejected_msg", "nodelay", "allow_degradation",
            "policy", "redis",
        ] + LimitSupport.redisKeys,
        compile: { settings in LimitReqPlugin(&settings) }
    )

    package var descriptor: PluginDescriptor { Self.descriptor }

    private static let excessBits: UInt64 = 28
    private static let excessMask: UInt64 = (1 << excessBits) - 1
    private static let timeMask: UInt64 = (1 << 36) - 1
    /// The largest `burst` the excess field holds at one unit a request.
    static let maximumBurst = Double(excessMask)

    private let table: LimitTable
    private let key: LimitKey
    /// Excess units one request adds.
    private let scale: Double
    /// Excess units that drain in a millisecond.
    private let drain: Double
    /// Excess units above which a request is rejected.
    private let ceiling: Double
    /// Nanoseconds one excess unit waits (1 / (rate × scale) seconds).
    private let unitDelay: Double
    private let nodelay: Bool
    private let rejectedCode: Int
    private let message: PluginText
    private let degrade: Bool
    /// The `redis` policy's settings; nil under `local`.
    private let redis: RedisLimitPolicy?
    /// `rate` and `burst` in thousandths of a request, as the Redis script takes them.
    private let rateMilli: Int64
    private let burstMilli: Int64

    init?(_ settings: inout PluginSettings) {
        let start = settings.issueCount
        for required in ["rate", "burst"] where !settings.has(required) { settings.missing(required) }
        let rate = LimitSupport.positiveNumber(&settings, "rate", maximum: 1e9)
        let burst = settings.number("burst", in: 0...Self.maximumBurst)
        let key = LimitKey.read(&settings, types: ["var", "var_combination"], defaultKey: nil)
        (rejectedCode, message) = LimitSupport.readRejection(&settings)
        nodelay = settings.bool("nodelay") ?? false
        degrade = settings.bool("allow_degradation") ?? false
        let policy = LimitSupport.readPolicy(
            &settings,
            plugin: "limit-req",
            identity: "\(settings.scope)/limit-req/\(settings.text)",
            allowBatch: false,
            degrade: degrade
        )
        guard settings.issueCount == start, let rate, let burst, let key, let policy else { return nil }
        redis = policy
        rateMilli = max(1, Int64((rate * 1000).rounded()))
        burstMilli = Int64((burst * 1000).rounded())
        self.key = key
        let scale = burst > 0 ? min(1000, (Double(Self.excessMask) / burst).rounded(.down)) : 1000
        self.scale = scale
        drain = rate * scale / 1000
        ceiling = burst * scale
        unitDelay = 1e9 / (rate * scale)
        table = settings.sharedState { LimitTable(capacity: key.isConstant ? 1 : LimitTable.variableCapacity) }
    }

    package func access(_ request: PluginRequest) -> PluginVerdict {
        if let redis { return redisAccess(request, redis) }
        return localAccess(request)
    }

    /// The `redis` policy: the bucket lives in Redis (one script call, the request waiting for it).
    private func redisAccess(_ request: PluginRequest, _ redis: RedisLimitPolicy) -> PluginVerdict {
        if let reply = request.takeRedisReply() {
            switch reply {
            case .values(let admitted, let excessMilli):
                guard admitted != 0 else { return .reject(status: rejectedCode, message: message.bytes) }
                if nodelay { return .proceed }
                return LimitSupport.delay(UInt64(min(Double(max(excessMilli, 0)) / Double(rateMilli) * 1e9, 1e18)))
            case .failed(let failure):
                redis.count(failure, request)
                return fallback(request, redis)
            case .retry:
                // Only leases park requests, and limit-req takes none.
                break
            }
        }
        guard let client = request.redis else { return fallback(request, redis) }
        if let failure = client.queueLimitRequest(
            endpoint: redis.endpoint,
            scope: redis.scope,
            key: key.hash(request),
            rateMilli: rateMilli,
            burstMilli: burstMilli,
            state: request.state,
            now: request.now
        ) {
            redis.count(failure, request)
            return fallback(request, redis)
        }
        redis.countCall(request)
        return .awaitRedis
    }

    /// What `redis.on_error` says when Redis cannot decide.
    private func fallback(_ request: PluginRequest, _ redis: RedisLimitPolicy) -> PluginVerdict {
        switch redis.onError {
        case .allow: return .proceed
        case .deny: return .reject(503, LimitSupport.backendUnavailable)
        case .local: return localAccess(request)
        }
    }

    /// The `local` policy: this gateway's table.
    private func localAccess(_ request: PluginRequest) -> PluginVerdict {
        let now = (request.now / 1_000_000) & Self.timeMask
        let scale = self.scale
        let drain = self.drain
        let ceiling = self.ceiling
        var excess = 0.0
        let outcome = table.update(
            key.hash(request),
            overflow: !degrade,
            idle: { state in
                Double(state & Self.excessMask) - drain * Double(Self.elapsed(state, now)) + scale <= 0
            },
            next: { state, fresh in
                if fresh {
                    excess = 0
                    return now << Self.excessBits
                }
                let elapsed = Self.elapsed(state, now)
                let value = max(Double(state & Self.excessMask) - drain * Double(elapsed) + scale, 0)
                guard value <= ceiling else { return nil }
                excess = value
                // nginx keeps the excess as an integer; the delay uses the exact value.
                let last = elapsed == 0 ? state >> Self.excessBits : now
                return last << Self.excessBits | UInt64(value)
            }
        )
        guard outcome.slot >= 0 else { return .proceed }
        guard outcome.committed else { return .reject(status: rejectedCode, message: message.bytes) }
        if nodelay { return .proceed }
        // A rate of a request in years can ask for more nanoseconds than a UInt64 holds.
        return LimitSupport.delay(UInt64(min(excess * unitDelay, 1e18)))
    }

    /// Milliseconds since the last request in `state`.
    @inline(__always)
    private static func elapsed(_ state: UInt64, _ now: UInt64) -> UInt64 {
        LimitSupport.elapsed(from: state >> excessBits, to: now, mask: timeMask)
    }
}
