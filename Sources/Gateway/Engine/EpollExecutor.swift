import CEpoll
import Glibc

/// The epoll executor: edge-triggered readiness over non-blocking sockets, presented in io_uring's
/// completion model so the connection logic above it does not change.
///
/// Operations are queued per descriptor and tried on the next submit when the descriptor's cached
/// readiness allows; an `EAGAIN` (or a short read or write, after which edge-triggered epoll reports
/// the next change) clears that readiness until epoll reports it again. Receives take a pool buffer
/// only when bytes are there, so idle connections hold none, as with io_uring's provided buffers.
package final class EpollExecutor: IOExecutor {
    package static var kind: EngineKind { .epoll }

    /// What is pending on one descriptor and what epoll last said about it.
    private struct Descriptor {
        var registered = false
        var readable = false
        var writable = false
        /// The peer closed its side or the socket failed: reads never block again, so a short read
        /// must not wait for an edge that will not come.
        var hungUp = false
        /// In the list of descriptors to try on the next submit.
        var queued = false
        /// `connect()` returned `EINPROGRESS`; the result comes with writability.
        var connecting = false
        var acceptData: UInt64 = 0
        var receiveData: UInt64 = 0
        /// nil: receive into a pool buffer.
        var receiveBuffer: UnsafeMutableRawPointer? = nil
        var receiveCount = 0
        var sendData: UInt64 = 0
        var sendBuffer: UnsafeRawPointer? = nil
        var sendCount = 0
        var connectData: UInt64 = 0
        var connectAddress: UnsafePointer<sockaddr>? = nil
        var connectLength: socklen_t = 0
    }

    private struct Completion {
        var userData: UInt64
        var result: Int32
        var flags: UInt32
    }

    /// Connections accepted per listener per turn, so one busy listener does not starve the rest.
    private static let acceptBatch = 64

    private let epollFD: Int32
    private var descriptors: UnsafeMutablePointer<Descriptor>
    private var descriptorCapacity: Int
    private var ready: UnsafeMutablePointer<Int32>
    private var readyCount = 0
    private var readyCapacity: Int
    private var completions: UnsafeMutablePointer<Completion>
    private var completionCount = 0
    private var completionCapacity: Int
    private let events: UnsafeMutablePointer<epoll_event>
    private let eventCapacity = 256

    private let memory: UnsafeMutableRawPointer
    private let bufferCount: Int
    private let bufferSize: Int
    private let freeIDs: UnsafeMutablePointer<UInt16>
    private var freeCount: Int

    package init(entries: UInt32, bufferCount: Int, bufferSize: Int) throws(EngineError) {
        precondition(bufferCount > 0 && bufferCount <= 65536, "buffer ids are 16-bit")
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else {
            throw EngineError(
                code: .resources,
                message: "epoll_create1: \(String(cString: strerror(errno)))",
                errno: errno
            )
        }
        guard
            let mapped = mmap(
                nil,
                bufferCount * bufferSize,
                PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS,
                -1,
                0
            ),
            mapped != MAP_FAILED
        else {
            Glibc.close(fd)
            throw EngineError(
                code: .resources,
                message: "cannot map \(bufferCount * bufferSize) bytes of receive buffers",
                errno: errno
            )
        }
        epollFD = fd
        memory = mapped
        self.bufferCount = bufferCount
        self.bufferSize = bufferSize
        freeIDs = .allocate(capacity: bufferCount)
        // Lowest ids on top, so a lightly loaded worker touches few buffer pages.
        for index in 0..<bufferCount { freeIDs[index] = UInt16(bufferCount - 1 - index) }
        freeCount = bufferCount
        descriptorCapacity = 1024
        descriptors = zeroed(descriptorCapacity)
        readyCapacity = Int(max(entries, 64))
        ready = .allocate(capacity: readyCapacity)
        completionCapacity = Int(max(entries, 64)) * 4
        completions = .allocate(capacity: completionCapacity)
        events = .allocate(capacity: eventCapacity)
    }

    deinit {
        Glibc.close(epollFD)
        munmap(memory, bufferCount * bufferSize)
        freeIDs.deallocate()
        free(descriptors)
        ready.deallocate()
        completions.deallocate()
        events.deallocate()
    }

    // MARK: - Loop

    package func submitAndWait(timeoutNanoseconds: Int64) {
        performReady()
        let milliseconds =
            completionCount > 0 || readyCount > 0 ? 0 : Int32(clamping: (timeoutNanoseconds + 999_999) / 1_000_000)
        let count = epoll_wait(epollFD, events, Int32(eventCapacity), milliseconds)
        if count > 0 {
            for index in 0..<Int(count) {
                let event = events[index]
                noteReadiness(fd: event.data.fd, events: event.events)
            }
        }
        performReady()
    }

    package func submit() {
        performReady()
    }

    @inline(__always)
    package func drainCompletions(_ body: (UInt64, Int32, UInt32) -> Void) {
        var index = 0
        while index < completionCount {
            let completion = completions[index]
            body(completion.userData, completion.result, completion.flags)
            index += 1
        }
        completionCount = 0
    }

    // MARK: - Operations

    package func multishotAccept(fd: Int32, userData: UInt64) {
        register(fd)
        descriptors[Int(fd)].acceptData = userData
        enqueue(fd)
    }

    @inline(__always)
    package func receive(fd: Int32, userData: UInt64) {
        register(fd)
        descriptors[Int(fd)].receiveData = userData
        descriptors[Int(fd)].receiveBuffer = nil
        if descriptors[Int(fd)].readable { enqueue(fd) }
    }

    package func receive(fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, userData: UInt64) {
        register(fd)
        descriptors[Int(fd)].receiveData = userData
        descriptors[Int(fd)].receiveBuffer = buffer
        descriptors[Int(fd)].receiveCount = count
        if descriptors[Int(fd)].readable { enqueue(fd) }
    }

    @inline(__always)
    package func send(fd: Int32, buffer: UnsafeRawPointer, count: Int, userData: UInt64) {
        register(fd)
        descriptors[Int(fd)].sendData = userData
        descriptors[Int(fd)].sendBuffer = buffer
        descriptors[Int(fd)].sendCount = count
        if descriptors[Int(fd)].writable { enqueue(fd) }
    }

    package func connect(fd: Int32, address: UnsafePointer<sockaddr>, length: socklen_t, userData: UInt64) {
        // A connect is the first operation on a new socket: forget whatever an earlier holder of the
        // descriptor number left behind.
        reset(fd)
        register(fd)
        descriptors[Int(fd)].connectData = userData
        descriptors[Int(fd)].connectAddress = address
        descriptors[Int(fd)].connectLength = length
        enqueue(fd)
    }

    @inline(__always)
    package func close(fd: Int32) {
        if Int(fd) < descriptorCapacity { reset(fd) }
        Glibc.close(fd)
    }

    /// Ends every pending operation on `fd` with `-ECANCELED`, as io_uring's cancel does.
    @inline(__always)
    package func cancel(fd: Int32) {
        guard Int(fd) < descriptorCapacity else { return }
        let d = descriptors[Int(fd)]
        // Four plain checks rather than a loop over an array literal: nothing allocates on a worker.
        if d.acceptData != 0 { complete(d.acceptData, -ECANCELED) }
        if d.connectData != 0 { complete(d.connectData, -ECANCELED) }
        if d.sendData != 0 { complete(d.sendData, -ECANCELED) }
        if d.receiveData != 0 { complete(d.receiveData, -ECANCELED) }
        descriptors[Int(fd)].acceptData = 0
        descriptors[Int(fd)].receiveData = 0
        descriptors[Int(fd)].sendData = 0
        descriptors[Int(fd)].connectData = 0
        descriptors[Int(fd)].connecting = false
    }

    // MARK: - Buffers

    @inline(__always)
    package func bufferPointer(_ id: UInt16) -> UnsafeMutableRawPointer { memory + Int(id) * bufferSize }

    @inline(__always)
    package func recycleBuffer(_ id: UInt16) {
        freeIDs[freeCount] = id
        freeCount += 1
    }

    @inline(__always)
    package func publishBuffers() {}

    // MARK: - Readiness

    private func noteReadiness(fd: Int32, events mask: UInt32) {
        guard Int(fd) < descriptorCapacity, descriptors[Int(fd)].registered else { return }
        let failed = mask & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0
        if failed || mask & EPOLLRDHUP.rawValue != 0 { descriptors[Int(fd)].hungUp = true }
        if failed || mask & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0 { descriptors[Int(fd)].readable = true }
        if failed || mask & EPOLLOUT.rawValue != 0 { descriptors[Int(fd)].writable = true }
        let d = descriptors[Int(fd)]
        if d.acceptData != 0 || d.connectData != 0 || d.sendData != 0 || d.receiveData != 0 { enqueue(fd) }
    }

    /// Adds `fd` to epoll (edge-triggered, both directions) the first time it is used.
    @inline(__always)
    private func register(_ fd: Int32) {
        if Int(fd) >= descriptorCapacity { grow(toInclude: Int(fd)) }
        guard !descriptors[Int(fd)].registered else { return }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue
        event.data.fd = fd
        if epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) != 0 && errno == EEXIST {
            _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
        }
        descriptors[Int(fd)].registered = true
        // Optimistic: try the first receive and send at once; EAGAIN then waits for epoll's edge.
        descriptors[Int(fd)].readable = true
        descriptors[Int(fd)].writable = true
    }

    @inline(__always)
    private func reset(_ fd: Int32) {
        if Int(fd) >= descriptorCapacity { grow(toInclude: Int(fd)) }
        descriptors[Int(fd)] = Descriptor()
    }

    private func grow(toInclude fd: Int) {
        var capacity = descriptorCapacity
        while capacity <= fd { capacity *= 2 }
        let grown = realloc(descriptors, capacity * MemoryLayout<Descriptor>.stride)!
        memset(
            grown + descriptorCapacity * MemoryLayout<Descriptor>.stride,
            0,
            (capacity - descriptorCapacity) * MemoryLayout<Descriptor>.stride
        )
        descriptors = grown.bindMemory(to: Descriptor.self, capacity: capacity)
        descriptorCapacity = capacity
    }

    /// Moves a full queue into one twice its size (rare: only past the sizes made at start).
    private static func double<T>(_ queue: inout UnsafeMutablePointer<T>, count: Int, capacity: inout Int) {
        let grown = UnsafeMutablePointer<T>.allocate(capacity: capacity * 2)
        grown.moveInitialize(from: queue, count: count)
        queue.deallocate()
        queue = grown
        capacity *= 2
    }

    @inline(__always)
    private func enqueue(_ fd: Int32) {
        guard !descriptors[Int(fd)].queued else { return }
        descriptors[Int(fd)].queued = true
        if readyCount == readyCapacity { Self.double(&ready, count: readyCount, capacity: &readyCapacity) }
        ready[readyCount] = fd
        readyCount += 1
    }

    @inline(__always)
    private func complete(_ userData: UInt64, _ result: Int32, _ flags: UInt32 = 0) {
        if completionCount == completionCapacity {
            Self.double(&completions, count: completionCount, capacity: &completionCapacity)
        }
        completions[completionCount] = Completion(userData: userData, result: result, flags: flags)
        completionCount += 1
    }

    // MARK: - Performing

    /// Tries every queued descriptor's pending operations once.
    private func performReady() {
        let count = readyCount
        var index = 0
        while index < count {
            let fd = ready[index]
            index += 1
            guard descriptors[Int(fd)].queued else { continue }
            descriptors[Int(fd)].queued = false
            perform(fd)
        }
        // Descriptors queued while performing (an accept batch cut short) move to the front.
        let rest = readyCount - count
        if rest > 0 { memmove(ready, ready + count, rest * MemoryLayout<Int32>.stride) }
        readyCount = rest
    }

    @inline(__always)
    private func perform(_ fd: Int32) {
        if descriptors[Int(fd)].acceptData != 0 && descriptors[Int(fd)].readable { performAccept(fd) }
        if descriptors[Int(fd)].connectData != 0 { performConnect(fd) }
        if descriptors[Int(fd)].sendData != 0 && descriptors[Int(fd)].writable { performSend(fd) }
        if descriptors[Int(fd)].receiveData != 0 && descriptors[Int(fd)].readable { performReceive(fd) }
    }

    private func performAccept(_ listener: Int32) {
        let userData = descriptors[Int(listener)].acceptData
        for _ in 0..<Self.acceptBatch {
            let fd = gw_accept4(listener, nil, nil, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
            if fd >= 0 {
                reset(fd)
                complete(userData, fd, IOCompletion.more)
                continue
            }
            let error = errno
            switch error {
            case EAGAIN, EWOULDBLOCK:
                descriptors[Int(listener)].readable = false
                return
            case ECONNABORTED, EINTR, EPROTO:
                continue
            default:
                // Out of descriptors or memory: report it and end the accept, as io_uring does; the
                // owner decides whether to post it again.
                descriptors[Int(listener)].acceptData = 0
                complete(userData, -error, 0)
                return
            }
        }
        enqueue(listener)
    }

    private func performConnect(_ fd: Int32) {
        let userData = descriptors[Int(fd)].connectData
        if !descriptors[Int(fd)].connecting {
            let result = Glibc.connect(fd, descriptors[Int(fd)].connectAddress, descriptors[Int(fd)].connectLength)
            if result == 0 {
                descriptors[Int(fd)].connectData = 0
                complete(userData, 0)
            } else if errno == EINPROGRESS {
                descriptors[Int(fd)].connecting = true
                descriptors[Int(fd)].writable = false
            } else {
                descriptors[Int(fd)].connectData = 0
                complete(userData, -errno)
            }
            return
        }
        guard descriptors[Int(fd)].writable else { return }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 { error = errno }
        descriptors[Int(fd)].connecting = false
        descriptors[Int(fd)].connectData = 0
        complete(userData, -error)
    }

    @inline(__always)
    private func performSend(_ fd: Int32) {
        let d = descriptors[Int(fd)]
        let sent = Glibc.send(fd, d.sendBuffer, d.sendCount, Int32(MSG_NOSIGNAL))
        if sent >= 0 {
            if sent < d.sendCount { descriptors[Int(fd)].writable = false }
            descriptors[Int(fd)].sendData = 0
            complete(d.sendData, Int32(sent))
            return
        }
        let error = errno
        if error == EAGAIN || error == EWOULDBLOCK {
            descriptors[Int(fd)].writable = false
            return
        }
        if error == EINTR { return enqueue(fd) }
        descriptors[Int(fd)].sendData = 0
        complete(d.sendData, -error)
    }

    @inline(__always)
    private func performReceive(_ fd: Int32) {
        let d = descriptors[Int(fd)]
        var id: UInt16 = 0
        let target: UnsafeMutableRawPointer
        let capacity: Int
        if let buffer = d.receiveBuffer {
            target = buffer
            capacity = d.receiveCount
        } else {
            guard freeCount > 0 else {
                descriptors[Int(fd)].receiveData = 0
                complete(d.receiveData, -ENOBUFS)
                return
            }
            freeCount -= 1
            id = freeIDs[freeCount]
            target = bufferPointer(id)
            capacity = bufferSize
        }
        let received = recv(fd, target, capacity, 0)
        let pooled = d.receiveBuffer == nil
        if received > 0 {
            // A short read drained the socket; edge-triggered epoll reports the next bytes.
            if received < capacity && !d.hungUp { descriptors[Int(fd)].readable = false }
            descriptors[Int(fd)].receiveData = 0
            complete(d.receiveData, Int32(received), pooled ? IOCompletion.buffer | UInt32(id) << 16 : 0)
            return
        }
        let error = received == 0 ? 0 : errno
        if pooled { recycleBuffer(id) }
        if received < 0 && (error == EAGAIN || error == EWOULDBLOCK) {
            descriptors[Int(fd)].readable = false
            return
        }
        if received < 0 && error == EINTR { return enqueue(fd) }
        descriptors[Int(fd)].receiveData = 0
        complete(d.receiveData, -error)
    }
}
