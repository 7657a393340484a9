import CLiburing
import Glibc

/// One io_uring instance owned by a single thread (a worker or the control plane).
///
/// Thread-confined: created, used and destroyed on the thread that runs its loop, which is why it is
/// `@unchecked Sendable` only so it can be handed to that thread once.
package final class IORing: @unchecked Sendable {
    package let ring: UnsafeMutablePointer<io_uring>
    private let cqeBatch: UnsafeMutablePointer<UnsafeMutablePointer<io_uring_cqe>?>
    package let cqeBatchCapacity: Int

    /// Creates a ring with `entries` submission slots, preferring the thread-per-core flags.
    package init(entries: UInt32) throws(EngineError) {
        // Set up into locals first: once every stored property is set, a throw would run deinit,
        // which must only ever see a ring that exists.
        let ring = UnsafeMutablePointer<io_uring>.allocate(capacity: 1)
        ring.initialize(to: io_uring())
        var params = io_uring_params()
        params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE
        params.cq_entries = entries * 4
        var result = io_uring_queue_init_params(entries, ring, &params)
        if result == -EINVAL {
            // Older kernels lack DEFER_TASKRUN / SINGLE_ISSUER: fall back to a plain ring.
            params = io_uring_params()
            params.flags = IORING_SETUP_CQSIZE
            params.cq_entries = entries * 4
            result = io_uring_queue_init_params(entries, ring, &params)
        }
        if result < 0 {
            ring.deallocate()
            throw EngineError.ioUringSetup(errno: -result)
        }
        self.ring = ring
        cqeBatchCapacity = 256
        cqeBatch = .allocate(capacity: cqeBatchCapacity)
    }

    deinit {
        io_uring_queue_exit(ring)
        ring.deallocate()
        cqeBatch.deallocate()
    }

    /// Returns a free submission entry, flushing the queue to the kernel first if it is full.
    @inline(__always)
    package func sqe() -> UnsafeMutablePointer<io_uring_sqe> {
        if let entry = io_uring_get_sqe(ring) { return entry }
        _ = io_uring_submit(ring)
        while true {
            if let entry = io_uring_get_sqe(ring) { return entry }
            _ = io_uring_submit(ring)
        }
    }

    /// Submits queued entries and waits for at least one completion or the timeout.
    package func submitAndWait(timeoutNanoseconds: Int64) {
        var ts = __kernel_timespec(
            tv_sec: timeoutNanoseconds / 1_000_000_000,
            tv_nsec: timeoutNanoseconds % 1_000_000_000
        )
        var cqe: UnsafeMutablePointer<io_uring_cqe>? = nil
        _ = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, nil)
    }

    /// Submits queued entries without waiting.
    package func submit() {
        _ = io_uring_submit(ring)
    }

    /// Hands completions to `body` in batches until none are left, then marks them seen.
    @inline(__always)
    package func drainCompletions(_ body: (UInt64, Int32, UInt32) -> Void) {
        while true {
            let count = Int(io_uring_peek_batch_cqe(ring, cqeBatch, UInt32(cqeBatchCapacity)))
            if count == 0 { return }
            for index in 0..<count {
                let cqe = cqeBatch[index].unsafelyUnwrapped
                body(cqe.pointee.user_data, cqe.pointee.res, cqe.pointee.flags)
            }
            io_uring_cq_advance(ring, UInt32(count))
        }
    }

    // MARK: - Operations

    @inline(__always)
    package func multishotAccept(fd: Int32, userData: UInt64) {
        let entry = sqe()
        io_uring_prep_multishot_accept(entry, fd, nil, nil, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
        io_uring_sqe_set_data64(entry, userData)
    }

    /// A single receive into a buffer the kernel picks from `group` when data arrives, so an idle
    /// connection owns no buffer.
    @inline(__always)
    package func receive(fd: Int32, group: UInt16, userData: UInt64) {
        let entry = sqe()
        io_uring_prep_recv(entry, fd, nil, 0, 0)
        entry.pointee.flags |= UInt8(GW_IOSQE_BUFFER_SELECT)
        entry.pointee.buf_group = group
        io_uring_sqe_set_data64(entry, userData)
    }

    /// A single receive into memory the caller owns until the completion.
    @inline(__always)
    package func receive(fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, userData: UInt64) {
        let entry = sqe()
        io_uring_prep_recv(entry, fd, buffer, count, 0)
        io_uring_sqe_set_data64(entry, userData)
    }

    @inline(__always)
    package func send(fd: Int32, buffer: UnsafeRawPointer, count: Int, userData: UInt64) {
        let entry = sqe()
        io_uring_prep_send(entry, fd, buffer, count, Int32(MSG_NOSIGNAL))
        io_uring_sqe_set_data64(entry, userData)
    }

    @inline(__always)
    package func connect(
        fd: Int32,
        address: UnsafePointer<sockaddr>,
        length: socklen_t,
        userData: UInt64
    ) {
        // The connect timeout is the worker's timer wheel, not a linked timeout: one mechanism for all.
        let entry = sqe()
        io_uring_prep_connect(entry, fd, address, length)
        io_uring_sqe_set_data64(entry, userData)
    }

    @inline(__always)
    package func close(fd: Int32) {
        let entry = sqe()
        io_uring_prep_close(entry, fd)
        io_uring_sqe_set_data64(entry, UserData.ignored)
        entry.pointee.flags |= UInt8(GW_IOSQE_CQE_SKIP_SUCCESS)
    }

    /// Cancels every pending operation on `fd` (used before closing a connection mid-flight).
    @inline(__always)
    package func cancel(fd: Int32) {
        let entry = sqe()
        io_uring_prep_cancel_fd(entry, fd, UInt32(IORING_ASYNC_CANCEL_ALL))
        io_uring_sqe_set_data64(entry, UserData.ignored)
        entry.pointee.flags |= UInt8(GW_IOSQE_CQE_SKIP_SUCCESS)
    }

}
