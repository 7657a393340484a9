import Glibc

/// The I/O a worker or the control plane asks for, completed later as `(userData, result, flags)`.
///
/// Two executors implement it: ``IOUringExecutor`` (the default) and ``EpollExecutor`` (for hosts
/// whose seccomp profile or sysctl blocks io_uring). Both speak io_uring's completion model, so the
/// connection logic above them is the same: an operation is queued, performed no earlier than the
/// next ``submitAndWait(timeoutNanoseconds:)``, and reported once through ``drainCompletions(_:)``
/// with `result` as a byte count, a new descriptor, or a negated `errno`.
///
/// Thread-confined: one executor per thread, created and used on that thread.
package protocol IOExecutor: AnyObject {
    /// Which engine this is, for logs, `/status` and `gateway_build_info`.
    static var kind: EngineKind { get }

    /// Sets up the executor with a pool of `bufferCount` receive buffers of `bufferSize` bytes.
    init(entries: UInt32, bufferCount: Int, bufferSize: Int) throws(EngineError)

    /// Performs queued operations and waits up to `timeoutNanoseconds` for at least one completion.
    func submitAndWait(timeoutNanoseconds: Int64)

    /// Performs queued operations without waiting (used on shutdown).
    func submit()

    /// Hands every available completion to `body`; operations `body` queues run on the next submit.
    func drainCompletions(_ body: (UInt64, Int32, UInt32) -> Void)

    /// Accepts connections on listening socket `fd` until cancelled: one completion per connection,
    /// each flagged ``IOCompletion/more`` while accepting continues.
    func multishotAccept(fd: Int32, userData: UInt64)

    /// Receives into a pool buffer picked when bytes arrive (an idle connection holds none). A
    /// completion with bytes carries ``IOCompletion/buffer`` and the buffer id in `flags >> 16`;
    /// `-ENOBUFS` means every buffer was busy.
    func receive(fd: Int32, userData: UInt64)

    /// Receives into memory the caller owns until the completion.
    func receive(fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, userData: UInt64)

    /// Sends up to `count` bytes; the completion may report fewer (a short send).
    func send(fd: Int32, buffer: UnsafeRawPointer, count: Int, userData: UInt64)

    /// Connects non-blocking socket `fd`; the completion's result is 0 or a negated `errno`.
    /// `address` must stay valid until the completion.
    func connect(fd: Int32, address: UnsafePointer<sockaddr>, length: socklen_t, userData: UInt64)

    /// Closes `fd`; no completion is reported.
    func close(fd: Int32)

    /// Ends every pending operation on `fd`: each completes with `-ECANCELED` (or, with io_uring, with
    /// a result that was already on its way). Cancelled receives hold no buffer.
    func cancel(fd: Int32)

    /// Opens a non-blocking TCP socket for an upstream connection; -1 on failure.
    func openSocket(family: Int32) -> Int32

    /// The peer address of connected socket `fd`, nil if it cannot be read.
    func peerAddress(of fd: Int32) -> SocketAddress?

    /// Shuts down the write side of `fd` at once (the FIN goes out after queued bytes).
    func shutdownWrite(fd: Int32)

    /// The start of pool buffer `id`.
    func bufferPointer(_ id: UInt16) -> UnsafeMutableRawPointer

    /// Returns pool buffer `id`; it may be handed out again after ``publishBuffers()``.
    func recycleBuffer(_ id: UInt16)

    /// Makes recycled buffers available to receives.
    func publishBuffers()
}

extension IOExecutor {
    @inline(__always)
    package func openSocket(family: Int32) -> Int32 { Sockets.upstreamSocket(family: family) }

    @inline(__always)
    package func peerAddress(of fd: Int32) -> SocketAddress? { SocketAddress.peer(of: fd) }

    @inline(__always)
    package func shutdownWrite(fd: Int32) { _ = shutdown(fd, Int32(SHUT_WR)) }
}

/// Completion flags shared by both executors (the values io_uring uses).
package enum IOCompletion {
    /// The completion carries a pool buffer, whose id is in `flags >> 16`.
    package static let buffer: UInt32 = 1 << 0
    /// A multishot operation goes on after this completion.
    package static let more: UInt32 = 1 << 1

    /// The pool buffer id of a receive completion.
    @inline(__always)
    package static func bufferID(_ flags: UInt32) -> UInt16 { UInt16(truncatingIfNeeded: flags >> 16) }
}
