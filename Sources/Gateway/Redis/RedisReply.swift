/// What a rate-limit plugin finds when it is called again after ``PluginVerdict/awaitRedis``.
package enum RedisReply {
    /// The script's answer: its first two numbers.
    case values(Int64, Int64)
    /// No answer: the plugin follows `redis.on_error`.
    case failed(RedisLimitPolicy.Failure)
    /// The request waited for another request's lease call on the same key, which has settled: look at
    /// the lease again (and call for one if it is gone).
    case retry

    /// ``PluginRequestState/redisStatus`` while a request waits.
    static let waiting: UInt8 = 0
    /// ``PluginRequestState/redisStatus`` once `values` came.
    static let answered: UInt8 = 1

    /// ``PluginRequestState/redisStatus`` once a lease the request waited for settled.
    static let retrying: UInt8 = 255

    /// ``PluginRequestState/redisLink`` of a request parked on another's lease call (it waits for no
    /// answer of its own, so its timeout does not condemn a connection).
    static let parkedLink: UInt8 = 255

    /// ``PluginRequestState/redisStatus`` for a failure.
    @inline(__always)
    static func status(_ failure: RedisLimitPolicy.Failure) -> UInt8 { UInt8(2 + failure.rawValue) }
}
