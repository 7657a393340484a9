/// A Lua script the gateway runs on Redis for a cluster-wide limit, with the SHA1 `EVALSHA` names it by.
///
/// Both scripts take one key (`KEYS[1]`) and answer with a two-integer array
/// (``RESPReply/integers(count:first:second:third:)``). A worker sends `EVALSHA sha1 1 key args...`; on
/// `NOSCRIPT` (a restarted or flushed Redis) it sends the same command once as `EVAL source 1 key args...`,
/// which also caches the script again. Arguments are decimal integers (``RESPWriter/argument(decimal:)``).
/// docs/PLUGINS.md, "Redis policy: the scripts", states the semantics for users.
package struct RedisScript: Sendable {
    /// The Lua source, byte for byte what ``sha1`` is the hash of.
    package let source: StaticString
    /// The SHA1 of ``source`` as 40 lower-case hex digits: what `SCRIPT LOAD` returns and `EVALSHA` takes.
    package let sha1: StaticString

    /// `limit-count`'s `redis` policy (APISIX's script, in milliseconds): a fixed window that starts with
    /// the key's first request, the counter lowered by `cost` even when that rejects.
    ///
    /// - `KEYS[1]`: the counter (a string holding the permits left, with a PX expiry: the window's end).
    /// - `ARGV[1]`: the limit (`count`); `ARGV[2]`: the window in milliseconds; `ARGV[3]`: the cost, the
    ///   permits to take (≥ 1; else a script error).
    /// - Reply `{remaining, ttl}`: the permits left after taking `cost` (negative once over the limit) and
    ///   the milliseconds until the window ends. The caller grants `clamp(remaining + cost, 0, cost)`
    ///   permits: all of them, some of them (the last of a window), or none (reject).
    ///
    /// A key without an expiry (PTTL -1, never set by this script) or absent (-2) starts a new window.
    package static let limitCount = RedisScript(
        source: """
            local cost = tonumber(ARGV[3])
            assert(cost and cost >= 1, 'cost must be at least 1')
            local ttl = redis.call('PTTL', KEYS[1])
            if ttl < 0 then
                local remaining = tonumber(ARGV[1]) - cost
                redis.call('SET', KEYS[1], remaining, 'PX', ARGV[2])
                return {remaining, tonumber(ARGV[2])}
            end
            return {redis.call('INCRBY', KEYS[1], -cost), ttl}
            """,
        sha1: "9152674caf6e3d7b03d252c7831d65300c9e4648"
    )

    /// `limit-req`'s `redis` policy: APISIX's (nginx's) leaky bucket, made atomic in one script and timed
    /// by Redis's clock (`TIME`), so instances with skewed clocks share one bucket correctly.
    ///
    /// - `KEYS[1]`: the bucket, a hash with `excess` (milli-requests, may be fractional) and `last` (the
    ///   last admitted request, milliseconds on Redis's clock).
    /// - `ARGV[1]`: the rate in milli-requests per second (`rate` × 1000 as an integer: 0.5 r/s is `500`;
    ///   must be > 0); `ARGV[2]`: `burst` × 1000 likewise.
    /// - Each request adds 1000 to the excess after draining `rate` per second since `last` (clamped at 0;
    ///   a bucket's first request starts at 0). Above `burst` the request is rejected and the bucket left
    ///   as it was; otherwise the new excess and time are stored.
    /// - Reply `{admitted, excess}`: 1 and the excess after this request (the caller delays it
    ///   `excess / ARGV[1]` seconds unless `nodelay`), or 0 and the bucket's excess without it (drained to
    ///   now), floored to integers.
    /// - The bucket expires (PEXPIRE) once it would have drained to where a missing bucket starts:
    ///   `(excess + 1000) × 1000 / ARGV[1]` ms after the last admitted request.
    package static let limitRequest = RedisScript(
        source: """
            if redis.replicate_commands then redis.replicate_commands() end
            local rate = tonumber(ARGV[1])
            local burst = tonumber(ARGV[2])
            local time = redis.call('TIME')
            local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
            local state = redis.call('HMGET', KEYS[1], 'excess', 'last')
            local excess = 0
            if state[1] and state[2] then
                local elapsed = math.abs(now - tonumber(state[2]))
                excess = math.max(tonumber(state[1]) - rate * elapsed / 1000 + 1000, 0)
                if excess > burst then
                    return {0, math.floor(math.max(excess - 1000, 0))}
                end
            end
            redis.call('HSET', KEYS[1], 'excess', excess, 'last', now)
            redis.call('PEXPIRE', KEYS[1], math.ceil((excess + 1000) * 1000 / rate))
            return {1, math.floor(excess)}
            """,
        sha1: "421f2b150c9c726ca0e1a896a751f7c91eb4ee41"
    )
}
