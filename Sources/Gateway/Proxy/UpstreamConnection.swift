/// What an upstream connection is doing.
package enum UpstreamState: UInt8 {
    /// The connect is in flight; the request waits in the output.
    case connecting
    /// Connected and serving a request: sending it and waiting for the response head.
    case exchanging
    /// The response head went to the client; the body streams (the request body may still be going out).
    case streaming
    /// Parked in its node's keep-alive pool, watched for a close.
    case pooled
    /// Relaying an upgraded connection's bytes (after a 101); never pooled again.
    case tunneling
    case closed
}

/// Per-connection state of an upstream connection, stored in a worker's slab.
package struct UpstreamConnection {
    package var fd: Int32 = -1
    package var generation: UInt32 = 0
    package var state: UpstreamState = .closed
    /// What the connection's timer is set for.
    package var deadline: UpstreamDeadline = .none
    package var receiving = false
    package var sending = false
    /// Came from the keep-alive pool (a failure before any response byte may be retried).
    package var reused = false
    /// Extra bytes or a close-delimited body: never return to the pool.
    package var reusable = true
    package var upstream: Int32 = 0
    package var node: Int32 = 0
    package var client: Int32 = -1

    // Output being sent upstream: a block we own, or the client's input (`.provided` marks borrowed bytes).
    package var outputSource: ByteSource = .none
    package var outputID: Int32 = 0
    package var outputOffset: Int32 = 0
    package var outputLength: Int32 = 0
    /// The output is the front of the client's input rather than a block we own.
    package var outputBorrowed = false

    package var headBlock: Int32 = -1
    package var headLength: Int32 = 0
    package var responseFramer = HTTPBodyFramer(.none, limits: HTTPLimits())
    package var requestsServed: UInt32 = 0
    /// The whole request (head and body) kept until the response head arrives, so a request that
    /// failed on a stale keep-alive connection can be sent again on a fresh one (-1: none).
    package var retainedBlock: Int32 = -1
    package var retainedLength: Int32 = 0
    /// A response buffer received while the client was still being sent something else (-1: none).
    package var pendingBuffer: Int32 = -1
    package var pendingLength: Int32 = 0

    package init() {}

    /// Connected and serving a request (request or response bytes may be moving).
    @inline(__always)
    package var isConnected: Bool { state == .exchanging || state == .streaming || state == .tunneling }

    /// Whether the connection may be parked for reuse after its exchange: the response ended exactly
    /// at its framing, nothing is in flight or unread, and the pool and request limits allow it.
    @inline(__always)
    package func isReusable(maxRequests: UInt32, pooled: Int, poolSize: Int, draining: Bool) -> Bool {
        reusable && responseFramer.isComplete && !sending && outputSource == .none && pendingBuffer < 0
            && requestsServed < maxRequests && pooled < poolSize && !draining
    }

    /// The response head has been forwarded: a failure now can only cut the client.
    @inline(__always)
    package var responseStarted: Bool { state == .streaming || state == .tunneling }
}
