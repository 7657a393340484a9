import Glibc

/// A tiny HTTP/1.1 upstream on its own thread answering every request with a canned `200 ok`.
///
/// One `poll(2)` loop over the listener and up to ``maxConnections`` keep-alive connections, each with
/// a preallocated buffer: it reads a request head, consumes its Content-Length or chunked body, and
/// writes the canned response. Nothing allocates per request, so it adds nothing to the process-wide
/// malloc count while a benchmark measures the gateway.
final class CannedUpstream: @unchecked Sendable {
    // Thread-confined after start(): only the upstream thread touches the connection state; stop()
    // writes to the wake pipe and joins.
    static let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    static let maxConnections = 16
    private static let bufferSize = 65536

    let port: UInt16
    private let listener: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let canned: UnsafeMutableRawBufferPointer
    private let pollSet: UnsafeMutablePointer<pollfd>
    private let buffers: UnsafeMutablePointer<UInt8>
    private let filled: UnsafeMutablePointer<Int>
    private var connectionCount = 0
    private var thread = pthread_t()
    /// Requests answered; read by the benchmark only after the thread has joined or between runs.
    private(set) var requests = 0
    private(set) var accepted = 0

    init() {
        (listener, port) = LoopbackSockets.listenLoopback()
        var pipeFDs: (Int32, Int32) = (0, 0)
        let piped = withUnsafeMutablePointer(to: &pipeFDs) {
            $0.withMemoryRebound(to: Int32.self, capacity: 2) { pipe($0) }
        }
        precondition(piped == 0, "pipe failed")
        (wakeRead, wakeWrite) = pipeFDs
        canned = RawBytes.copy(Self.response)
        pollSet = .allocate(capacity: Self.maxConnections + 2)
        buffers = .allocate(capacity: Self.maxConnections * Self.bufferSize)
        filled = .allocate(capacity: Self.maxConnections)
        filled.initialize(repeating: 0, count: Self.maxConnections)
    }

    deinit {
        close(listener)
        close(wakeRead)
        close(wakeWrite)
        canned.deallocate()
        pollSet.deallocate()
        buffers.deallocate()
        filled.deallocate()
    }

    /// Starts the serving thread.
    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(
            &thread,
            nil,
            { raw in
                let upstream = Unmanaged<CannedUpstream>.fromOpaque(raw!).takeRetainedValue()
                upstream.serve()
                return nil
            },
            box
        )
        precondition(created == 0, "pthread_create failed: \(created)")
    }

    /// Wakes the thread, closes every connection and joins.
    func stop() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        pthread_join(thread, nil)
    }

    private func serve() {
        pollSet[0] = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
        pollSet[1] = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(pollSet, nfds_t(connectionCount &+ 2), -1)
            if ready < 0 && errno == EINTR { continue }
            precondition(ready > 0, "poll failed: errno \(errno)")
            if pollSet[0].revents != 0 { break }
            if pollSet[1].revents != 0 { accept() }
            var slot = 0
            while slot < connectionCount {
                if pollSet[slot &+ 2].revents != 0 && !service(slot) {
                    remove(slot)
                } else {
                    slot &+= 1
                }
            }
        }
        while connectionCount > 0 { remove(connectionCount &- 1) }
    }

    private func accept() {
        let fd = Glibc.accept(listener, nil, nil)
        guard fd >= 0 else { return }
        accepted &+= 1
        guard connectionCount < Self.maxConnections else {
            close(fd)
            return
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        pollSet[connectionCount &+ 2] = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        filled[connectionCount] = 0
        connectionCount &+= 1
    }

    private func remove(_ slot: Int) {
        close(pollSet[slot &+ 2].fd)
        let last = connectionCount &- 1
        if slot != last {
            pollSet[slot &+ 2] = pollSet[last &+ 2]
            filled[slot] = filled[last]
            (buffers + slot &* Self.bufferSize).update(from: buffers + last &* Self.bufferSize, count: filled[last])
        }
        connectionCount = last
    }

    /// Reads what is there and answers every complete request; false when the connection ended.
    private func service(_ slot: Int) -> Bool {
        let fd = pollSet[slot &+ 2].fd
        let base = buffers + slot &* Self.bufferSize
        var count = filled[slot]
        guard count < Self.bufferSize else { fatalError("upstream: request larger than its buffer") }
        let n = read(fd, base + count, Self.bufferSize &- count)
        if n < 0 && errno == EINTR { return true }
        guard n > 0 else { return false }
        count &+= n
        while let end = Self.requestEnd(base, count: count) {
            RawBytes.writeAll(fd, canned.baseAddress!, canned.count)
            requests &+= 1
            count &-= end
            if count > 0 { base.update(from: base + end, count: count) }
        }
        filled[slot] = count
        return true
    }

    /// End offset of the first complete request (head and body) in the buffer, or nil.
    static func requestEnd(_ base: UnsafeMutablePointer<UInt8>, count: Int) -> Int? {
        guard let headEnd = RawBytes.headEnd(base, from: 0, count: count) else { return nil }
        let framing = RawBytes.framing(base, headEnd: headEnd)
        if framing.chunked { return RawBytes.chunkedBodyEnd(base, from: headEnd, count: count) }
        let end = headEnd &+ framing.contentLength
        return end <= count ? end : nil
    }
}
