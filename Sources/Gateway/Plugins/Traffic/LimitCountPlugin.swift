/// `limit-count`: at most `count` requests per key in a fixed window of `time_window` seconds; the rest
/// are rejected (429 unless `rejected_code` says otherwise). Every counted response says where the key
/// stands in `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds until the
/// window ends), the rejection too, unless `show_limit_quota_header` is false.
///
/// The `local` policy counts for the whole gateway (a ``LimitTable`` every worker shares), so the limit
/// holds however many workers serve the key. As in APISIX's `local` policy, a key's window starts with
/// its first request and lasts `time_window` seconds on the monotonic clock; the next request after it
/// starts a new one. Routes with the same `group` (and the same settings, as APISIX requires) count in
/// one table.
///
/// `X-RateLimit-Reset` is the whole seconds left in the window, rounded up (a new window says
/// `time_window`), on rejections too: APISIX's `local` policy sends 0 there, which tells a client to
/// retry at once.
///
/// The `redis` policy (``RedisLimitPolicy``) counts in Redis for every gateway that shares it, with
/// APISIX's semantics (a fixed window from the key's first request, on Redis's clock): each worker sends
/// its calls pipelined on its own connection and the request waits for the answer on the worker, like
/// an upstream. With `redis.batch: N` a call takes N permits and the worker spends them locally until they
/// run out or the window ends. While Redis cannot answer, `redis.on_error` decides (`local`: this table).
///
/// A slot packs the window's start (milliseconds, 38 bits: a key idle for a multiple of 8.7 years may
/// find its old window) and the count (26 bits, hence `count` at most 67,108,863).
package final class LimitCountPlugin: GatewayPlugin {
    package static let descriptor = PluginDescriptor(
        name: "limit-count",
        priority: 1002,
        phases: [.access],
        keys: [
            "count", "time_window", "key_type", "key", "rejected_code", "rejected_msg", "policy",
            "allow_degradation", "show_limit_quota_header", "group", "redis",
        ] + LimitSupport.redisKeys,
        compile: { settings in LimitCountPlugin(&settings) }
    )

    package var descriptor: PluginDescriptor { Self.descriptor }

    /// The largest `count` a slot holds.
    static let maximumCount = (1 << countBits) - 1
    /// The longest `time_window`, in seconds (about 3 years).
    static let maximumWindow = 100_000_000

    private static let countBits: UInt64 = 26
    private static let countMask: UInt64 = (1 << countBits) - 1
    private static let timeMask: UInt64 = (1 << 38) - 1

    private let table: LimitTable
    private let key: LimitKey
    private let limit: UInt64
    private let window: UInt64
    private let rejectedCode: Int
    private let message: PluginText
    private let showHeaders: Bool
    /// Keys that find no room in the table go unlimited (instead of sharing the overflow slot).
    private let degrade: Bool
    /// The `redis` policy's settings; nil under `local` (the table above then counts alone; under `redis`
    /// it counts only while Redis cannot, with `on_error: local`).
    private let redis: RedisLimitPolicy?

    init?(_ settings: inout PluginSettings) {
        let start = settings.issueCount
        for required in ["count", "time_window"] where !settings.has(required) { settings.missing(required) }
        let count = settings.int("count", in: 1...Self.maximumCount)
        let seconds = settings.int("time_window", in: 1...Self.maximumWindow)
        let key = LimitKey.read(&settings, types: ["var", "var_combination", "constant"], defaultKey: "remote_addr")
        (rejectedCode, message) = LimitSupport.readRejection(&settings)
        degrade = settings.bool("allow_degradation") ?? false
        showHeaders = settings.bool("show_limit_quota_header") ?? true
        let group = settings.has("group") ? settings.nonEmptyString("group") : nil
        let identity = group.map { "group/limit-count/\($0)" } ?? "\(settings.scope)/limit-count/\(settings.text)"
        let policy = LimitSupport.readPolicy(
            &settings,
            plugin: "limit-count",
            identity: identity,
            allowBatch: true,
            degrade: degrade
        )
        guard settings.issueCount == start, let count, let seconds, let key, let policy else { return nil }
        redis = policy
        self.key = key
        limit = UInt64(count)
        window = UInt64(seconds) * 1000
        let capacity = key.isConstant ? 1 : LimitTable.variableCapacity
        if let group {
            let joined = [
                "count=\(count)", "time_window=\(seconds)", "key=\(key.configured)", "rejected_code=\(rejectedCode)",
                "rejected_msg=\(String(decoding: message.bytes, as: UTF8.self))", "allow_degradation=\(degrade)",
                "show_limit_quota_header=\(showHeaders)",
            ].joined(separator: "\n")
            guard
                let table = settings.groupState(
                    group: group,
                    settings: joined,
                    make: { LimitTable(capacity: capacity) }
                )
            else {
                settings.report(
                    "group",
                    "group conf mismatched: another limit-count in group \"\(group)\" has other settings"
                )
                return nil
            }
            self.table = table
        } else {
            table = settings.sharedState { LimitTable(capacity: capacity) }
        }
    }

    package func access(_ request: PluginRequest) -> PluginVerdict {
        if let redis { return redisAccess(request, redis) }
        return localAccess(request)
    }

    /// The `local` policy: this gateway's table.
    private func localAccess(_ request: PluginRequest) -> PluginVerdict {
        let now = (request.now / 1_000_000) & Self.timeMask
        let limit = self.limit
        let window = self.window
        let outcome = table.update(
            key.hash(request),
            overflow: !degrade,
            idle: { Self.elapsed($0, now) >= window || $0 & Self.countMask == 0 },
            next: { state, fresh in
                if fresh || Self.elapsed(state, now) >= window || state & Self.countMask == 0 {
                    return now << Self.countBits | 1
                }
                return state & Self.countMask < limit ? state &+ 1 : nil
            }
        )
        guard outcome.slot >= 0 else { return .proceed }
        if showHeaders {
            let used = outcome.state & Self.countMask
            // Whole seconds left, rounded up: a new window says `time_window`.
            let left = window - min(window, Self.elapsed(outcome.state, now))
            recordQuota(
                request,
                remaining: outcome.committed ? Int(limit - min(limit, used)) : 0,
                resetSeconds: Int((left + 999) / 1000)
            )
        }
        return outcome.committed ? .proceed : .reject(status: rejectedCode, message: message.bytes)
    }

    /// The `redis` policy: a leased permit when `batch` left one, else a call to Redis (the request waits
    /// for it and comes back here with the answer).
    private func redisAccess(_ request: PluginRequest, _ redis: RedisLimitPolicy) -> PluginVerdict {
        let keyHash = key.hash(request)
        let leaseKey = (redis.scope &* 0x9E37_79B9_7F4A_7C15) ^ keyHash
        let batched = redis.batch > 1
        if let reply = request.takeRedisReply() {
            switch reply {
            case .values(let remainingAfter, let ttl):
                if batched { request.redis?.settle(leaseKey) }
                return decide(request, redis, leaseKey: leaseKey, remainingAfter: remainingAfter, ttl: ttl)
            case .failed(let failure):
                if batched { request.redis?.settle(leaseKey) }
                redis.count(failure, request)
                return fallback(request, redis)
            case .retry:
                // The lease this request waited for settled: look again below.
                break
            }
        }
        guard let client = request.redis else { return fallback(request, redis) }
        if let resetAt = client.leases.exhaustedUntil(leaseKey, now: request.now) {
            if showHeaders {
                let left = resetAt > request.now ? resetAt - request.now : 0
                recordQuota(request, remaining: 0, resetSeconds: Int((left + 999_999_999) / 1_000_000_000))
            }
            return .reject(status: rejectedCode, message: message.bytes)
        }
        if batched {
            if let lease = client.leases.take(leaseKey, now: request.now) {
                if showHeaders {
                    let left = lease.resetAt > request.now ? lease.resetAt - request.now : 0
                    recordQuota(
                        request,
                        remaining: Int(max(lease.remaining, 0)),
                        resetSeconds: Int((left + 999_999_999) / 1_000_000_000)
                    )
                }
                return .proceed
            }
            // One lease call per key and worker at a time: the others wait for its permits rather than each
            // taking a lease the next answer would replace.
            if client.leases.isPending(leaseKey, now: request.now),
                client.park(endpoint: redis.endpoint, lease: leaseKey, state: request.state)
            {
                return .awaitRedis
            }
        }
        if let failure = client.queueLimitCount(
            endpoint: redis.endpoint,
            scope: redis.scope,
            key: keyHash,
            limit: Int64(limit),
            windowMilliseconds: Int64(window),
            cost: Int64(redis.batch),
            lease: batched ? leaseKey : 0,
            state: request.state,
            now: request.now
        ) {
            redis.count(failure, request)
            return fallback(request, redis)
        }
        if batched { client.leases.markPending(leaseKey, until: request.now &+ client.lastTimeout, now: request.now) }
        redis.countCall(request)
        return .awaitRedis
    }

    /// Redis's answer to a call that took `batch` permits: admit when it granted some, keep the rest as a
    /// lease, or remember that the window is used up.
    private func decide(
        _ request: PluginRequest,
        _ redis: RedisLimitPolicy,
        leaseKey: UInt64,
        remainingAfter: Int64,
        ttl: Int64
    ) -> PluginVerdict {
        let cost = Int64(redis.batch)
        let granted = min(max(remainingAfter &+ cost, 0), cost)
        let ttlNanoseconds = UInt64(max(ttl, 0)) &* 1_000_000
        if let table = request.redis?.leases {
            if granted == 0 {
                // The window is used up until Redis's key expires: reject locally until then.
                table.markExhausted(leaseKey, until: request.now &+ ttlNanoseconds, now: request.now)
            } else if granted > 1 {
                table.store(
                    leaseKey,
                    permits: Int(granted - 1),
                    remaining: max(remainingAfter, 0),
                    expiresAt: request.now &+ ttlNanoseconds,
                    now: request.now
                )
            }
        }
        if showHeaders {
            recordQuota(
                request,
                remaining: granted > 0 ? Int(max(remainingAfter, 0) + granted - 1) : 0,
                resetSeconds: Int((max(ttl, 0) + 999) / 1000)
            )
        }
        return granted > 0 ? .proceed : .reject(status: rejectedCode, message: message.bytes)
    }

    /// What `redis.on_error` says when Redis cannot decide.
    private func fallback(_ request: PluginRequest, _ redis: RedisLimitPolicy) -> PluginVerdict {
        switch redis.onError {
        case .allow: return .proceed
        case .deny: return .reject(503, LimitSupport.backendUnavailable)
        case .local: return localAccess(request)
        }
    }

    /// `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` on the response.
    @inline(__always)
    private func recordQuota(_ request: PluginRequest, remaining: Int, resetSeconds: Int) {
        request.record(.responseSet, name: UnsafeRawBufferPointer("X-RateLimit-Limit"), decimal: Int(limit))
        request.record(.responseSet, name: UnsafeRawBufferPointer("X-RateLimit-Remaining"), decimal: remaining)
        request.record(.responseSet, name: UnsafeRawBufferPointer("X-RateLimit-Reset"), decimal: resetSeconds)
    }

    /// Milliseconds from the start of the window in `state` to `now`.
    @inline(__always)
    private static func elapsed(_ state: UInt64, _ now: UInt64) -> UInt64 {
        LimitSupport.elapsed(from: state >> countBits, to: now, mask: timeMask)
    }
}
