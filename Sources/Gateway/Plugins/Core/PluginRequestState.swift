import AccessLog

/// What the plugins decided about one request that must outlive a phase: kept per client slot from
/// the request's start to its end, because the response phases run after the upstream answers.
package struct PluginRequestState {
    /// Plugins ran for this request (false in zeroed memory: nothing else here is read then).
    package var active = false
    /// The authenticated consumer (an index into the plan's ``ConsumerTable``), or -1.
    package var consumer: Int32 = -1
    /// The plan generation the consumer index belongs to.
    package var generation: UInt64 = 0
    /// The client address the request is treated as coming from (`real-ip` may change it).
    package var clientAddress = ClientAddress()
    /// Whether a plugin changed ``clientAddress`` for this request.
    package var addressChanged = false
    /// The plugin kind (registry position) that rejected the request, or -1.
    package var rejectedBy: Int16 = -1
    /// A status a `header_filter` plugin set for the response, or 0.
    package var statusOverride: Int16 = 0
    /// Where the `rewrite`/`access` walk stopped to wait (`limit-req`), to go on from there.
    package var resumeStage: UInt8 = 0
    package var resumeIndex: UInt16 = 0
    /// The Redis call this request waits for (``RedisClientTable``'s token), and its answer once it came:
    /// ``RedisReplyStatus`` raw value, with the script's first two numbers.
    package var redisToken: UInt32 = 0
    package var redisStatus: UInt8 = 0
    package var redisValues: (Int64, Int64) = (0, 0)
    /// The endpoint index of the link the call went out on.
    package var redisLink: UInt8 = 0
    /// One value a plugin may keep from `access` to `log` (`limit-conn` keeps its key here).
    package var stash: UInt64 = 0
    /// The block holding this request's ``PluginEdits`` records, or -1.
    var editBlock: Int32 = -1
    var editLength: Int32 = 0
    var editOperations: UInt16 = 0
    /// A plugin asked for more edits than a block holds.
    var editOverflow = false
    /// A plugin-supplied access-log field.
    package var logFieldName: AccessLogSymbol = .none
    package var logFieldValue: AccessLogSymbol = .none

    package init() {}
}
