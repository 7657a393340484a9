/// What a plugin decides in the `rewrite` or `access` phase.
package enum PluginVerdict {
    /// Go on with the next plugin (and, after the last, the upstream).
    case proceed
    /// End the request with `status` and the JSON body `{"message":…,"request_id":…}`. `message` is
    /// JSON-safe text the plugin owns for the life of its plan (a literal, or bytes compiled from its
    /// configuration); response headers the plugin added so far are sent with it.
    case reject(status: Int, message: UnsafeRawBufferPointer)
    /// Answer the request now with `status`, the response headers added so far and no body (a CORS
    /// preflight, say). Not a rejection: it is not counted in `gateway_plugin_rejections_total`.
    case respond(status: Int)
    /// Wait `nanoseconds` on the worker's timer, then go on with the next plugin (`limit-req`).
    case delay(nanoseconds: UInt64)
    /// Wait for the Redis call the plugin queued (``RedisClientTable``), then call the same plugin again:
    /// it finds the answer with ``PluginRequest/takeRedisReply()``.
    case awaitRedis

    /// A rejection with a literal message.
    @inline(__always)
    package static func reject(_ status: Int, _ message: StaticString) -> PluginVerdict {
        .reject(
            status: status,
            message: UnsafeRawBufferPointer(start: message.utf8Start, count: message.utf8CodeUnitCount)
        )
    }
}
