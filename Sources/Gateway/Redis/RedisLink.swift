import Glibc

/// A request (or the connection's own set-up) waiting for the next answer on a ``RedisLink``: Redis
/// answers in the order commands were sent.
package struct RedisWaiter {
    /// The client slot, or -1 for a set-up command (AUTH, SELECT, SCRIPT LOAD).
    package var client: Int32
    package var generation: UInt32
    /// Matches ``PluginRequestState/redisToken`` while the request still waits for this answer.
    package var token: UInt32
    /// The lease key of a `redis.batch` lease call (0 for others): when its request is gone by the time
    /// the answer comes, the requests parked on the lease are woken to call for themselves.
    package var lease: UInt64 = 0
}

/// One worker's connection to one Redis endpoint: pipelined commands, the requests waiting in order,
/// and its buffers (allocated when the connection is first used).
///
/// Commands queued while a send is in flight go to `pending`; when the send completes, `pending` becomes
/// the next send, so every request of a loop turn leaves in one write.
package struct RedisLink {
    package enum State: UInt8 {
        /// Never used, or closed with nothing waiting to reconnect.
        case idle
        case connecting
        case ready
        /// Failed: calls fail at once until `retryAt`, then the next call connects again.
        case backoff
    }

    /// Bytes of commands one buffer holds (a few hundred calls).
    package static let bufferCapacity = 64 * 1024
    /// Bytes of answers held until parsed.
    package static let receiveCapacity = 16 * 1024
    /// Requests that may wait on one connection.
    package static let waiterCapacity = 4096
    /// The first wait after a failure, doubled on each failure after it up to ``maximumBackoff``.
    package static let firstBackoff: UInt64 = 100_000_000
    package static let maximumBackoff: UInt64 = 2_000_000_000

    package var state: State = .idle
    package var fd: Int32 = -1
    /// Tells completions of a closed connection from those of the current one.
    package var generation: UInt32 = 0
    /// A connect is wanted on the next flush.
    package var connectWanted = false
    package var sending = false
    package var receiving = false
    package var pending: UnsafeMutableRawPointer?
    package var pendingCount = 0
    package var inflight: UnsafeMutableRawPointer?
    package var inflightCount = 0
    package var inflightSent = 0
    package var received: UnsafeMutableRawPointer?
    package var receivedCount = 0
    package var waiters: UnsafeMutablePointer<RedisWaiter>?
    package var waiterHead = 0
    package var waiterCount = 0
    package var retryAt: UInt64 = 0
    package var backoff: UInt64 = 0
    /// The endpoint's address (`connect` reads it until its completion).
    package var address = sockaddr_storage()
    package var addressLength: socklen_t = 0
    package var family: Int32 = 0
    /// The endpoint's timeout: a connect's, and each request's wait.
    package var timeout: UInt64 = 0

    package init() {}

    /// Allocates the buffers (once per link and worker).
    package mutating func allocateBuffers() {
        guard pending == nil else { return }
        pending = .allocate(byteCount: Self.bufferCapacity, alignment: 16)
        inflight = .allocate(byteCount: Self.bufferCapacity, alignment: 16)
        received = .allocate(byteCount: Self.receiveCapacity, alignment: 16)
        waiters = .allocate(capacity: Self.waiterCapacity)
    }

    package func freeBuffers() {
        pending?.deallocate()
        inflight?.deallocate()
        received?.deallocate()
        waiters?.deallocate()
    }

    /// Adds a waiter at the tail; false when ``waiterCapacity`` wait already.
    @inline(__always)
    package mutating func pushWaiter(_ waiter: RedisWaiter) -> Bool {
        guard let waiters, waiterCount < Self.waiterCapacity else { return false }
        waiters[(waiterHead &+ waiterCount) % Self.waiterCapacity] = waiter
        waiterCount &+= 1
        return true
    }

    /// Removes the waiter at the head (the one the next answer is for).
    @inline(__always)
    package mutating func popWaiter() -> RedisWaiter? {
        guard let waiters, waiterCount > 0 else { return nil }
        let waiter = waiters[waiterHead]
        waiterHead = (waiterHead &+ 1) % Self.waiterCapacity
        waiterCount &-= 1
        return waiter
    }
}
