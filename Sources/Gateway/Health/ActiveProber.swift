import Glibc

/// Runs active health probes through an ``IOExecutor`` (the engine the workers use), all in flight at
/// once.
///
/// One slow or silent node only holds its own socket until its timeout; the others complete as soon
/// as they answer. An `https` probe runs a ``TLSStream`` client session over memory BIOs on the same
/// socket operations: received records are fed to it, and what it seals is sent from a buffer of the
/// probe's own. Thread-confined: the health controller's thread owns it, and the executor is made
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
        /// TLS handshake records are being exchanged (`https`).
        case handshaking
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
        var kind: ActiveHealthCheck.Kind
        /// The request and the address, owned here until no operation can read them any more.
        var request: UnsafeMutableRawBufferPointer
        var address: UnsafeMutablePointer<sockaddr_storage>
        var sent = 0
        var response: [UInt8] = []
        var healthyStatuses: [Int]
        var unhealthyStatuses: [Int]
        /// Operations posted and not completed yet.
        var pending = 0
        /// `https`: the context the session starts from, and the node's host (name or address) sent and
        /// verified without a server name, as the traffic's connections do.
        var context: TLSClientContext?
        var host: String
        /// `https`: the session (it must not move: OpenSSL's callbacks find it by address), from the
        /// connect until the probe finishes.
        var tls: UnsafeMutablePointer<TLSStream>?
        /// `https`: sealed records being sent (a send may still read it after the probe finished).
        var cipher: UnsafeMutableRawBufferPointer?
        var cipherOffset = 0
        var cipherLength = 0
        var sending = false
        var receiving = false

        /// Frees the TLS session, if any; the caller then forgets it (``finish`` clears the table's entry).
        func closeTLS() {
            guard let tls else { return }
            tls.pointee.close()
            tls.deinitialize(count: 1)
            tls.deallocate()
        }

        func free() {
            closeTLS()
            request.deallocate()
            address.deallocate()
            cipher?.deallocate()
        }
    }

    /// Ciphertext sent per operation; the handshake's records and the request fit in one or two.
    private static let cipherBufferSize = 4096
    /// Response bytes kept while looking for the status line; more fail the probe.
    private static let responseLimit = 8192

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
        // Frees the TLS sessions of probes still running too.
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
    ///
    /// An `https` check handshakes with `tls` (see ``ActiveProbeTLS``); without one it fails at once.
    package mutating func start(
        node: Int,
        address: SocketAddress,
        check: ActiveHealthCheck,
        hostHeader: String,
        tls: TLSClientContext? = nil,
        now: ContinuousClock.Instant
    ) {
        let io = io()
        var target = address
        if let port = check.port, let overridden = SocketAddress(host: address.hostString, port: port) {
            target = overridden
        }
        if check.type == .https && tls == nil {
            failedAtOnce.append(node)
            return
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
            kind: check.type,
            request: request,
            address: storage,
            healthyStatuses: check.healthy.httpStatuses,
            unhealthyStatuses: check.unhealthy.httpStatuses,
            context: check.type == .https ? tls : nil,
            host: Self.nodeHost(hostHeader) ?? target.hostString
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
            switch probe.kind {
            case .tcp: return finish(io, id, .success)
            case .https: return startTLS(io, id)
            case .http:
                probes[id]?.phase = .sending
                sendRest(io, id)
            }
        case .upstreamSend where probe.tls != nil:
            tlsSent(io, id, result)
        case .upstreamReceive where probe.tls != nil:
            tlsReceived(io, id, result, bytes)
        case .upstreamSend:
            guard result > 0 else { return finish(io, id, .tcpFailure) }
            probes[id]?.sent += Int(result)
            if probes[id]!.sent < probe.request.count { return sendRest(io, id) }
            probes[id]?.phase = .reading
            receive(io, id)
        case .upstreamReceive:
            if result == -ENOBUFS { return receive(io, id) }
            guard result >= 0 else { return finish(io, id, .tcpFailure) }
            if result == 0 { return ended(io, id) }
            if inspect(io, id, appending: bytes) { receive(io, id) }
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

    /// Adds response bytes and finishes the probe when they hold a status line or exceed the limit;
    /// true while more are needed.
    private mutating func inspect(_ io: any IOExecutor, _ id: UInt32, appending bytes: some Collection<UInt8>) -> Bool {
        probes[id]?.response.append(contentsOf: bytes)
        guard let probe = probes[id] else { return false }
        if let status = Self.status(probe.response) {
            finish(io, id, Self.classify(status, probe))
            return false
        }
        if probe.response.count > Self.responseLimit {
            finish(io, id, .httpFailure(status: 0))
            return false
        }
        return true
    }

    /// The end of the response stream: its status line decides, or it broke before one.
    private mutating func ended(_ io: any IOExecutor, _ id: UInt32) {
        guard let probe = probes[id] else { return }
        finish(io, id, Self.status(probe.response).map { Self.classify($0, probe) } ?? .tcpFailure)
    }

    // MARK: - https

    /// The host of a node's `host:port` (`[v6]:port`), nil when there is none.
    static func nodeHost(_ address: String) -> String? {
        let host =
            address.hasPrefix("[")
            ? String(address.dropFirst().prefix { $0 != "]" }) : String(address.prefix { $0 != ":" })
        return host.isEmpty ? nil : host
    }

    /// Connected: starts the TLS session and the handshake (within the probe's timeout).
    private mutating func startTLS(_ io: any IOExecutor, _ id: UInt32) {
        guard let probe = probes[id], let context = probe.context else { return finish(io, id, .tcpFailure) }
        let stream = UnsafeMutablePointer<TLSStream>.allocate(capacity: 1)
        guard TLSStream.startClient(stream, context: context, address: probe.host) else {
            // startClient initializes the memory only when it succeeds.
            stream.deallocate()
            return finish(io, id, .tcpFailure)
        }
        probes[id]?.tls = stream
        probes[id]?.cipher = .allocate(byteCount: Self.cipherBufferSize, alignment: 1)
        probes[id]?.phase = .handshaking
        advanceHandshake(io, id)
    }

    /// Runs the handshake on what has been fed; once done, seals the request. A failed handshake (a
    /// certificate that does not verify, no common protocol, not TLS at all) fails the probe as a failed
    /// connect, as APISIX's checker counts it.
    private mutating func advanceHandshake(_ io: any IOExecutor, _ id: UInt32) {
        guard let stream = probes[id]?.tls else { return }
        switch stream.pointee.handshake() {
        case .wantRead:
            flushTLS(io, id)
            receiveTLS(io, id)
        case .failed:
            finish(io, id, .tcpFailure)
        case .done:
            guard let request = probes[id]?.request, stream.pointee.write(UnsafeRawBufferPointer(request)) else {
                return finish(io, id, .tcpFailure)
            }
            probes[id]?.phase = .reading
            flushTLS(io, id)
            // Records may have come with the handshake's last flight.
            readTLS(io, id)
        }
    }

    /// Sends sealed records: the rest of the buffer, else what the session has produced since.
    private mutating func flushTLS(_ io: any IOExecutor, _ id: UInt32) {
        guard var probe = probes[id], let stream = probe.tls, let cipher = probe.cipher, !probe.sending else { return }
        if probe.cipherLength == 0 {
            guard stream.pointee.pendingOutput > 0 else { return }
            probe.cipherOffset = 0
            probe.cipherLength = stream.pointee.drainOutput(into: cipher)
            guard probe.cipherLength > 0 else { return }
        }
        probe.sending = true
        probe.pending += 1
        probes[id] = probe
        io.send(
            fd: probe.fd,
            buffer: cipher.baseAddress! + probe.cipherOffset,
            count: probe.cipherLength,
            userData: Self.tag(.upstreamSend, id)
        )
    }

    private mutating func tlsSent(_ io: any IOExecutor, _ id: UInt32, _ result: Int32) {
        probes[id]?.sending = false
        guard result > 0 else { return finish(io, id, .tcpFailure) }
        probes[id]?.cipherOffset += Int(result)
        probes[id]?.cipherLength -= Int(result)
        flushTLS(io, id)
    }

    private mutating func receiveTLS(_ io: any IOExecutor, _ id: UInt32) {
        guard let probe = probes[id], !probe.receiving else { return }
        probes[id]?.receiving = true
        probes[id]?.pending += 1
        io.receive(fd: probe.fd, userData: Self.tag(.upstreamReceive, id))
    }

    private mutating func tlsReceived(_ io: any IOExecutor, _ id: UInt32, _ result: Int32, _ bytes: [UInt8]) {
        probes[id]?.receiving = false
        guard let probe = probes[id], let stream = probe.tls else { return }
        if result == -ENOBUFS { return receiveTLS(io, id) }
        guard result > 0 else {
            // The node closed: mid-handshake that is a failed connect; after it, the status line decides.
            return result == 0 && probe.phase == .reading ? ended(io, id) : finish(io, id, .tcpFailure)
        }
        guard bytes.withUnsafeBytes({ stream.pointee.feed($0) }) else { return finish(io, id, .tcpFailure) }
        if probe.phase == .handshaking { return advanceHandshake(io, id) }
        readTLS(io, id)
    }

    /// Opens the records fed so far into the response, a bounded chunk at a time.
    private mutating func readTLS(_ io: any IOExecutor, _ id: UInt32) {
        withUnsafeTemporaryAllocation(byteCount: 2048, alignment: 1) { buffer in
            while let stream = probes[id]?.tls {
                switch stream.pointee.read(into: buffer) {
                case .bytes(let count):
                    guard inspect(io, id, appending: buffer[..<count]) else { return }
                case .wantRead:
                    // Reading may have produced records (a key update's answer).
                    flushTLS(io, id)
                    receiveTLS(io, id)
                    return
                case .closed:
                    ended(io, id)
                    return
                case .failed:
                    finish(io, id, .tcpFailure)
                    return
                }
            }
        }
    }

    /// Reports `result` once and closes the probe's socket and TLS session; its memory waits for its
    /// operations.
    private mutating func finish(_ io: any IOExecutor, _ id: UInt32, _ result: ActiveProbeResult) {
        guard let probe = probes[id], probe.phase != .finished else { return }
        completed.append(Completion(node: probe.node, result: result))
        probes[id]?.phase = .finished
        probe.closeTLS()
        probes[id]?.tls = nil
        probes[id]?.context = nil
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
