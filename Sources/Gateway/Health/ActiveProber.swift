import Glibc

/// Runs active health probes through an ``IOExecutor`` (the engine the workers use), all in flight at
/// once.
///
/// One slow or silent node only holds its own socket until its timeout; the others complete as soon
/// as they answer. Thread-confined: the health controller's thread owns it, and the executor is made
/// on that thread the first time it is needed (io_uring's single issuer).
package struct ActiveProber: ~Copyable {
    /// One completed probe.
    package struct Completion: Sendable, Equatable {
        /// The caller's id for the probed node.
        package var node: Int
        package var result: ActiveProbeResult
    }

    private enum Phase {
        case connecting
        case sending
        case reading
        /// Reported and closed; kept until its operations have completed, as they may still use its memory.
        case finished
    }

    private struct Probe {
        var node: Int
        var fd: Int32
        var phase: Phase = .connecting
        var deadline: ContinuousClock.Instant
        var tcpOnly: Bool
        /// The request and the address, owned here until no operation can read them any more.
        var request: UnsafeMutableRawBufferPointer
        var address: UnsafeMutablePointer<sockaddr_storage>
        var sent = 0
        var response: [UInt8] = []
        var healthyStatuses: [Int]
        var unhealthyStatuses: [Int]
        /// Operations posted and not completed yet.
        var pending = 0

        func free() {
            request.deallocate()
            address.deallocate()
        }
    }

    private let engine: EngineKind
    private var executor: (any IOExecutor)?
    private var probes: [UInt32: Probe] = [:]
    private var nextID: UInt32 = 0
    /// Probes that failed before any operation was posted, reported on the next poll.
    private var failedAtOnce: [Int] = []
    private var completed: [Completion] = []

    /// Probes go through an executor of `engine`.
    package init(engine: EngineKind = .epoll) {
        self.engine = engine
    }

    deinit {
        guard let io = executor else { return }
        for (_, probe) in probes where probe.phase != .finished {
            io.cancel(fd: probe.fd)
            io.close(fd: probe.fd)
        }
        // Let cancelled operations complete before their memory goes (bounded: the thread is stopping).
        var remaining = probes
        for _ in 0..<50 where remaining.values.contains(where: { $0.pending > 0 }) {
            io.submitAndWait(timeoutNanoseconds: 2_000_000)
            io.drainCompletions { userData, _, flags in
                if flags & IOCompletion.buffer != 0 { io.recycleBuffer(IOCompletion.bufferID(flags)) }
                remaining[UserData.slot(userData)]?.pending -= 1
            }
            io.publishBuffers()
        }
        for (_, probe) in remaining { probe.free() }
    }

    /// Probes in flight.
    package var inFlight: Int { failedAtOnce.count + probes.values.filter { $0.phase != .finished }.count }

    package func isProbing(node: Int) -> Bool {
        failedAtOnce.contains(node) || probes.values.contains { $0.node == node && $0.phase != .finished }
    }

    /// The executor, made on the calling (health) thread on first use; epoll if io_uring cannot start.
    private mutating func io() -> any IOExecutor {
        if let executor { return executor }
        let made: any IOExecutor
        if engine == .ioUring, let ring = try? IOUringExecutor(entries: 64, bufferCount: 16, bufferSize: 4096) {
            made = ring
        } else {
            // Creating an epoll executor only fails without memory or descriptors: nothing can run then.
            made = try! EpollExecutor(entries: 64, bufferCount: 16, bufferSize: 4096)
        }
        executor = made
        return made
    }

    /// Starts probing `address` as `check` says; a probe that fails at once completes on the next ``poll(until:)``.
    package mutating func start(
        node: Int,
        address: SocketAddress,
        check: ActiveHealthCheck,
        hostHeader: String,
        now: ContinuousClock.Instant
    ) {
        let io = io()
        var target = address
        if let port = check.port, let overridden = SocketAddress(host: address.hostString, port: port) {
            target = overridden
        }
        let fd = io.openSocket(family: target.family)
        guard fd >= 0 else {
            failedAtOnce.append(node)
            return
        }
        let text =
            "GET \(check.httpPath) HTTP/1.1\r\nHost: \(check.host ?? hostHeader)\r\n"
            + "User-Agent: gateway-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        let bytes = Array(text.utf8)
        let request = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        request.copyBytes(from: bytes)
        let storage = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: 1)
        storage.initialize(to: target.storage)
        nextID &+= 1
        let id = nextID
        var probe = Probe(
            node: node,
            fd: fd,
            deadline: now + check.timeout,
            tcpOnly: check.type == .tcp,
            request: request,
            address: storage,
            healthyStatuses: check.healthy.httpStatuses,
            unhealthyStatuses: check.unhealthy.httpStatuses
        )
        probe.pending = 1
        probes[id] = probe
        storage.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            io.connect(fd: fd, address: $0, length: target.length, userData: Self.tag(.upstreamConnect, id))
        }
    }

    /// Waits for probe progress until `deadline` (at least one wait), and returns the probes that completed.
    package mutating func poll(until deadline: ContinuousClock.Instant) -> [Completion] {
        let io = io()
        completed.removeAll(keepingCapacity: true)
        for node in failedAtOnce { completed.append(Completion(node: node, result: .tcpFailure)) }
        failedAtOnce.removeAll()
        let now = ContinuousClock.now
        var wakeAt = deadline
        for probe in probes.values where probe.phase != .finished { wakeAt = min(wakeAt, probe.deadline) }
        let wait = completed.isEmpty ? max(.zero, wakeAt - now) : .zero
        io.submitAndWait(timeoutNanoseconds: Int64(wait / .nanoseconds(1)))
        io.drainCompletions { userData, result, flags in
            self.handle(io, userData, result, flags)
        }
        // Recycled receive buffers reach io_uring's buffer ring only when published.
        io.publishBuffers()
        let after = ContinuousClock.now
        for (id, probe) in probes where probe.phase != .finished && after >= probe.deadline {
            finish(io, id, .timeout)
        }
        for (id, probe) in probes where probe.phase == .finished && probe.pending == 0 {
            probe.free()
            probes[id] = nil
        }
        io.submit()
        return completed
    }

    private static func tag(_ kind: UserData.Kind, _ id: UInt32) -> UInt64 {
        UserData.make(kind, slot: id, generation: 0)
    }

    /// Moves one probe forward on a completion.
    private mutating func handle(_ io: any IOExecutor, _ userData: UInt64, _ result: Int32, _ flags: UInt32) {
        let id = UserData.slot(userData)
        var bytes: [UInt8] = []
        if flags & IOCompletion.buffer != 0 {
            let buffer = IOCompletion.bufferID(flags)
            bytes = Array(UnsafeRawBufferPointer(start: io.bufferPointer(buffer), count: Int(result)))
            io.recycleBuffer(buffer)
        }
        guard var probe = probes[id] else { return }
        probe.pending -= 1
        probes[id] = probe
        guard probe.phase != .finished else { return }
        switch UserData.kind(userData) {
        case .upstreamConnect:
            guard result == 0 else { return finish(io, id, .tcpFailure) }
            if probe.tcpOnly { return finish(io, id, .success) }
            probes[id]?.phase = .sending
            sendRest(io, id)
        case .upstreamSend:
            guard result > 0 else { return finish(io, id, .tcpFailure) }
            probes[id]?.sent += Int(result)
            if probes[id]!.sent < probe.request.count { return sendRest(io, id) }
            probes[id]?.phase = .reading
            receive(io, id)
        case .upstreamReceive:
            if result == -ENOBUFS { return receive(io, id) }
            guard result >= 0 else { return finish(io, id, .tcpFailure) }
            if result == 0 {
                return finish(io, id, Self.status(probe.response).map { Self.classify($0, probe) } ?? .tcpFailure)
            }
            probes[id]?.response.append(contentsOf: bytes)
            let response = probes[id]!.response
            if let status = Self.status(response) { return finish(io, id, Self.classify(status, probe)) }
            if response.count > 8192 { return finish(io, id, .httpFailure(status: 0)) }
            receive(io, id)
        default:
            break
        }
    }

    private mutating func sendRest(_ io: any IOExecutor, _ id: UInt32) {
        guard let probe = probes[id] else { return }
        probes[id]?.pending += 1
        io.send(
            fd: probe.fd,
            buffer: probe.request.baseAddress! + probe.sent,
            count: probe.request.count - probe.sent,
            userData: Self.tag(.upstreamSend, id)
        )
    }

    private mutating func receive(_ io: any IOExecutor, _ id: UInt32) {
        guard let probe = probes[id] else { return }
        probes[id]?.pending += 1
        io.receive(fd: probe.fd, userData: Self.tag(.upstreamReceive, id))
    }

    /// Reports `result` once and closes the probe's socket; its memory waits for its operations.
    private mutating func finish(_ io: any IOExecutor, _ id: UInt32, _ result: ActiveProbeResult) {
        guard let probe = probes[id], probe.phase != .finished else { return }
        completed.append(Completion(node: probe.node, result: result))
        probes[id]?.phase = .finished
        if probe.pending > 0 { io.cancel(fd: probe.fd) }
        io.close(fd: probe.fd)
    }

    private static func classify(_ status: Int, _ probe: Probe) -> ActiveProbeResult {
        if probe.healthyStatuses.contains(status) { return .success }
        if probe.unhealthyStatuses.contains(status) { return .httpFailure(status: status) }
        return status == 0 ? .httpFailure(status: 0) : .ignored(status: status)
    }

    /// The status of a complete status line ("HTTP/1.1 200 OK\r\n"); 0 when the line is not HTTP.
    static func status(_ bytes: [UInt8]) -> Int? {
        guard let end = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = bytes[..<end]
        guard line.count >= 12, line.starts(with: Array("HTTP/1.".utf8)), line[line.startIndex + 8] == UInt8(ascii: " ")
        else { return 0 }
        let digits = line[(line.startIndex + 9)..<(line.startIndex + 12)]
        guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return 0 }
        return digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }
}
