/// What a rate-limit plugin finds when it is called again after ``PluginVerdict/awaitRedis``.
package enum RedisReply {
    /// The script's answer: its first two numbers.
    case values(Int64, Int64)
    /// No answer: the plugin follows `redis.on_error`.
    case failed(RedisLimitPolicy.Failure)

    /// ``PluginRequestState/redisStatus`` while a request waits.
    static let waiting: UInt8 = 0
    /// ``PluginRequestState/redisStatus`` once `values` came.
    static let answered: UInt8 = 1

    /// ``PluginRequestState/redisStatus`` for a failure.
    @inline(__always)
    static func status(_ failure: RedisLimitPolicy.Failure) -> UInt8 { UInt8(2 + failure.rawValue) }
}
